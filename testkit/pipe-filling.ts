/**
 * Line `i` of a run that fills a pipe many times over (500 of them come to
 * ~6.8 MB): 4,000 bytes with its newline, which a pipe takes whole or not at
 * all, and every tenth 100,000, which it takes in parts. It uses nothing from
 * outside, so a child process can be given its source (`fillingLine.toString()`).
 */
export const fillingLine = (i: number): string =>
  `${String(i).padStart(6, "0")}${"x".repeat((i % 10 === 9 ? 100_000 : 4000) - 7)}\n`;

/**
 * An expression for a child's script (an ES module that imports `readFileSync`):
 * whether its file descriptor `fd` is non-blocking, as /proc/self/fdinfo says.
 */
export const isNonBlocking = (fd: number): string =>
  `(Number.parseInt(/flags:\\s+(\\d+)/.exec(readFileSync("/proc/self/fdinfo/${fd}", "utf8"))[1], 8) & 0o4000) !== 0`;
