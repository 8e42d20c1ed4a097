import { hashPassword } from '../ops/password-hash.js';
import type { Command } from './run.js';

const MIN_LENGTH = 12;

const HELP = `Usage: gatehouse admin hash-password

Prints the hash of a password for the break-glass administrator login (for when Entra ID is
unavailable), and the line that turns the login on. Set it on every instance:

  GATEHOUSE_ADMIN_PASSWORD_HASH='$scrypt$ln=15,r=8,p=1$…'
  GATEHOUSE_ADMIN_USERNAME=admin        (the default)

The password is read from standard input when that is not a terminal
(for example: gatehouse admin hash-password < password.txt), otherwise it is asked for twice,
without echo. It must be at least ${MIN_LENGTH} characters. The hash goes to standard output alone,
so scripts can capture it; the explanation goes to standard error.`;

export const adminCommand: Command = {
  name: 'admin',
  summary: 'Break-glass administrator: print a password hash (admin hash-password).',
  help: HELP,
  async run(argv) {
    if (argv.length !== 1 || argv[0] !== 'hash-password') {
      console.error(
        `gatehouse admin: expected 'hash-password' (got: ${argv.join(' ') || 'nothing'}).\n\n${HELP}`,
      );
      return 2;
    }
    let password: string;
    try {
      password = process.stdin.isTTY ? await askTwice() : await readStdin();
    } catch (error) {
      console.error(`gatehouse admin hash-password: ${(error as Error).message}`);
      return 1;
    }
    if (password.length < MIN_LENGTH) {
      console.error(
        `gatehouse admin hash-password: the password has ${password.length} characters; use at least ${MIN_LENGTH} (a passphrase of several words is easiest to keep).`,
      );
      return 1;
    }
    const hash = await hashPassword(password);
    console.log(hash);
    console.error(
      [
        '',
        'Set this on every Gatehouse instance to turn on the break-glass login (the single quotes keep',
        'a shell from reading the $ signs; in a Docker Compose file write each $ as $$):',
        '',
        `  GATEHOUSE_ADMIN_PASSWORD_HASH='${hash}'`,
        '',
        'The user name is GATEHOUSE_ADMIN_USERNAME (admin unless set). Keep the password in your vault.',
      ].join('\n'),
    );
    return 0;
  },
};

/** All of standard input, without the one line break a file or `echo` ends with. */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const password = text.replace(/\r?\n$/, '');
  if (password.includes('\n'))
    throw new Error('standard input holds more than one line: give the password alone.');
  return password;
}

async function askTwice(): Promise<string> {
  const first = await askHidden('Password: ');
  const second = await askHidden('Password again: ');
  if (first !== second) throw new Error('the two passwords differ; nothing was printed.');
  return first;
}

/** Reads one line from the terminal without echoing it. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.setEncoding('utf8');
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003' || char === '\u0004') return finish(new Error('cancelled.'));
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1);
        else value += char;
      }
    };
    stdin.on('data', onData);
  });
}
