/** Node's arguments to run `script` as an ES module that may import TypeScript modules (through tsx). */
export const evaluating = (script: string): string[] => ["--import", "tsx", "--input-type=module", "--eval", script];
