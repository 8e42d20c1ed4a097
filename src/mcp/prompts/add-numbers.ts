import { definePrompt, invalidArguments } from './prompt.js';

const MAX_NUMBERS = 10_000;

/** Turns a list typed by a person into a request to call calculate_sum with it. */
export const addNumbers = definePrompt({
  name: 'add_numbers',
  title: 'Add numbers',
  description: 'Asks the model to add a list of numbers with the calculate_sum tool.',
  arguments: [
    {
      name: 'numbers',
      description: 'The numbers to add, separated by commas or spaces (e.g. "1, 2.5, -3").',
      required: true,
    },
  ],
  get(args) {
    const text = args.numbers ?? '';
    const parts = text.split(/[\s,;]+/).filter((part) => part !== '');
    if (parts.length === 0) throw invalidArguments('add_numbers', "'numbers' must hold at least one number");
    if (parts.length > MAX_NUMBERS)
      throw invalidArguments(
        'add_numbers',
        `'numbers' holds at most ${MAX_NUMBERS.toLocaleString('en')} numbers`,
      );
    const numbers = parts.map(Number);
    const bad = parts.find((_part, index) => !Number.isFinite(numbers[index]));
    if (bad !== undefined) throw invalidArguments('add_numbers', `'${bad.slice(0, 40)}' is not a number`);
    return {
      description: `Adds ${numbers.length} number${numbers.length === 1 ? '' : 's'} with calculate_sum.`,
      messages: [
        {
          role: 'user',
          content: {
            type: 'text',
            text: `Call the calculate_sum tool with {"numbers": ${JSON.stringify(numbers)}} and tell me the sum.`,
          },
        },
      ],
    };
  },
});
