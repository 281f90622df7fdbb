// A small SMTP sink on loopback for the e2e suite: it speaks just
// enough SMTP for lettre (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS,
// no AUTH), keeps every message it accepts, and can refuse a recipient once
// with a permanent 550 (to make a failure the app must show and retry).
// Also a minimal MIME reader for what lettre writes: RFC 2047 headers,
// multipart/alternative, quoted-printable and base64 parts. No npm dependency.

import net from "node:net";

/** Largest message the sink keeps, in bytes. */
const MESSAGE_BYTES_MAX = 1024 * 1024;

export async function startSmtpSink() {
  const messages = [];
  const refuseOnce = new Set();
  const sockets = new Set();
  let counter = 0;
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    let buffer = Buffer.alloc(0);
    let inData = false;
    let envelope = { from: "", to: [] };
    const reply = (line) => socket.write(`${line}\r\n`);
    reply("220 sink.localhost ESMTP e2e sink");
    socket.on("data", (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (buffer.length > MESSAGE_BYTES_MAX) {
        reply("552 message too large");
        socket.end();
        return;
      }
      for (;;) {
        if (inData) {
          const end = buffer.indexOf("\r\n.\r\n");
          if (end < 0) return;
          const data = buffer.subarray(0, end + 2).toString("latin1").replace(/^\.\./gm, ".");
          buffer = buffer.subarray(end + 5);
          inData = false;
          counter += 1;
          messages.push({ ...envelope, raw: Buffer.from(data, "latin1") });
          envelope = { from: "", to: [] };
          reply(`250 Ok: queued as SINK${counter}`);
          continue;
        }
        const eol = buffer.indexOf("\r\n");
        if (eol < 0) return;
        const line = buffer.subarray(0, eol).toString("utf8");
        buffer = buffer.subarray(eol + 2);
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === "EHLO" || verb === "HELO") reply("250 sink.localhost");
        else if (verb === "MAIL") {
          envelope = { from: line.replace(/^MAIL FROM:\s*/i, "").split(" ")[0], to: [] };
          reply("250 Ok");
        } else if (verb === "RCPT") {
          const to = line.replace(/^RCPT TO:\s*/i, "").split(" ")[0];
          const bare = to.replace(/^<|>$/g, "");
          if (refuseOnce.delete(bare)) reply("550 5.1.1 mailbox unavailable");
          else {
            envelope.to.push(to);
            reply("250 Ok");
          }
        } else if (verb === "DATA") {
          inData = true;
          reply("354 End data with <CR><LF>.<CR><LF>");
        } else if (verb === "RSET") {
          envelope = { from: "", to: [] };
          reply("250 Ok");
        } else if (verb === "NOOP") reply("250 Ok");
        else if (verb === "QUIT") {
          reply("221 Bye");
          socket.end();
          return;
        } else reply("502 not implemented");
      }
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", resolve);
  });
  return {
    port: server.address().port,
    messages,
    /** The next RCPT TO this address gets a permanent 550; later ones are accepted. */
    refuseOnce: (address) => refuseOnce.add(address),
    stop() {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

// ------------------------------------------------------------------ MIME

function splitHead(text) {
  const at = text.indexOf("\r\n\r\n");
  const head = at < 0 ? text : text.slice(0, at);
  const body = at < 0 ? "" : text.slice(at + 4);
  const headers = {};
  for (const line of head.replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeQuotedPrintable(text) {
  const bytes = [];
  const t = text.replace(/=\r\n/g, "");
  for (let i = 0; i < t.length; i++) {
    if (t[i] === "=" && /^[0-9A-F]{2}$/i.test(t.slice(i + 1, i + 3))) {
      bytes.push(parseInt(t.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(t.charCodeAt(i) & 0xff);
  }
  return Buffer.from(bytes).toString("utf8");
}

function decodeBody(headers, body) {
  const encoding = (headers["content-transfer-encoding"] ?? "7bit").toLowerCase();
  if (encoding === "base64") return Buffer.from(body.replace(/\s+/g, ""), "base64").toString("utf8");
  if (encoding === "quoted-printable") return decodeQuotedPrintable(body);
  return Buffer.from(body, "latin1").toString("utf8");
}

/** RFC 2047 encoded words (`=?utf-8?b?...?=`, `=?utf-8?q?...?=`) to text. */
export function decodeHeader(value) {
  return value
    .replace(/\?=\s+=\?/g, "?==?")
    .replace(/=\?([^?]+)\?([bBqQ])\?([^?]*)\?=/g, (_, _charset, kind, data) =>
      kind.toLowerCase() === "b"
        ? Buffer.from(data, "base64").toString("utf8")
        : decodeQuotedPrintable(data.replace(/_/g, " ")),
    );
}

/** The headers (raw, lower-cased names), and each part of a multipart message with its type and decoded text; a nested multipart part has its own `parts`. */
export function parseMessage(raw) {
  return parseEntity(raw.toString("latin1"));
}

function parseEntity(text) {
  const { headers, body } = splitHead(text);
  const type = headers["content-type"] ?? "text/plain";
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  const parts = [];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith("--")) break;
      const raw = chunk.replace(/^\r\n/, "");
      const part = splitHead(raw);
      const partType = (part.headers["content-type"] ?? "text/plain").split(";")[0].trim().toLowerCase();
      if (partType.startsWith("multipart/")) {
        parts.push(parseEntity(raw));
        continue;
      }
      parts.push({
        type: partType,
        headers: part.headers,
        encoding: (part.headers["content-transfer-encoding"] ?? "7bit").toLowerCase(),
        text: decodeBody(part.headers, part.body.replace(/\r\n$/, "")),
        bytes: (part.headers["content-transfer-encoding"] ?? "").toLowerCase() === "base64" ? Buffer.from(part.body.replace(/\s+/g, ""), "base64") : null,
      });
    }
  }
  return { headers, type: type.split(";")[0].trim().toLowerCase(), parts };
}
