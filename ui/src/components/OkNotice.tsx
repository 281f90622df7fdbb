/** A line that says an action went through; nothing while there is none. */
export function OkNotice({ text, testId }: { text: string | null; testId: string }) {
  if (!text) return null;
  return (
    <p className="notice notice-ok" data-testid={testId}>
      {text}
    </p>
  );
}
