// Counted nouns as a person writes them: "1 task", "2 tasks", "1 retry", "3 retries".

/** `n` and the word, singular for exactly one; `many` when the plural is not the word plus "s". */
export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n.toLocaleString("en-US")} ${n === 1 ? word : many}`;
}
