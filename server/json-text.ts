/*
 * JSON text of single values, as `JSON.stringify` writes them, for code that
 * builds a JSON line or answer itself (the RPC log line, the fast lane's
 * plain JSON answers).
 */

/**
 * `JSON.stringify(text)`, without its call into the engine when the text has
 * nothing to escape, as names, codes, addresses and short answers have not.
 */
export function jsonString(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) return JSON.stringify(text);
  }
  return `"${text}"`;
}

/** `JSON.stringify(value)` of a number: not finite is null. */
export function jsonNumber(value: number): string {
  return Number.isFinite(value) ? String(value) : "null";
}
