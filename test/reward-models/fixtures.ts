// Preference data small models can learn in seconds.
import { writeFileSync } from 'node:fs';

export const FILLER = ['ship', 'deck', 'old', 'man', 'boat', 'cold', 'night', 'rope', 'mast', 'wind', 'grey', 'long'];
/**
 * Comparisons a tiny model can learn: the completion starting with "whale" beats the one starting with "sea".
 * The words after vary, so a random head (which mostly sees the last token) orders them by chance.
 */
export function whaleData(file: string, n: number): void {
  const lines: string[] = [];
  const w = (i: number) => FILLER[i % FILLER.length];
  for (let i = 0; i < n; i++) {
    const a = ` whale ${w(i * 7)} ${w(i * 5 + 1)}`;
    const b = ` sea ${w(i * 3 + 2)} ${w(i * 11 + 3)}`;
    lines.push(JSON.stringify({ prompt: `Prompt ${i}:`, chosen: a, rejected: b }));
  }
  writeFileSync(file, lines.join('\n') + '\n');
}
