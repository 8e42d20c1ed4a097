import { z } from 'zod';
import { defineTool } from '../tool.js';

export const calculateSum = defineTool({
  name: 'calculate_sum',
  title: 'Calculate a sum',
  description: 'Adds a list of numbers and returns their sum.',
  input: z.strictObject({
    numbers: z.array(z.number().finite()).max(10_000).describe('The numbers to add (up to 10,000).'),
  }),
  output: z.object({ sum: z.number() }),
  annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
  run({ numbers }) {
    let sum = 0;
    for (const value of numbers) sum += value;
    return { structured: { sum }, text: String(sum) };
  },
});
