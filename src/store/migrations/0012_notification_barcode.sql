-- VoucherDesk version 12: the barcode drawn into a voucher email.
-- The value the email's inline CODE_128 image encodes (the voucher code), kept
-- with the message like the rest of its content; NULL for messages without one.
ALTER TABLE buyer_notifications ADD COLUMN barcode TEXT;
