import { GatehouseError, isGatehouseError } from '../errors/index.js';
import { openStores } from '../http/storage-selection.js';
import type { DurableStore, MembershipRecord, UserRecord } from '../storage/contract.js';
import { loadConfigOrExplain } from './config-errors.js';
import type { Command } from './run.js';

const HELP = `Usage: gatehouse members list [<user>] [--json]
       gatehouse members add <user> <org> <role> [--team <team>]
       gatehouse members remove <user> <org> <role> [--team <team>]

Manages Gatehouse's own org and team memberships, which give users their roles (docs/authorization.md).

  list     Every membership, or one user's. --json prints one JSON array.
  add      Gives <user> <role> in <org>, or in one team of it with --team. Adding it twice keeps one.
  remove   Takes that membership away (the same org, team or none, and role).

<user> is any of:
  - the Gatehouse user id (a UUID, as /me and the audit log show it);
  - tenantId/objectId: the Entra tenant and the user's object id (oid);
  - the preferred username (UPN or e-mail, any case) the user signed in with; when users of several
    tenants share it, name the user by id or tenantId/objectId instead.
A user is known once they have signed in. Changes apply to their next request (roles are read
per request); a verified token may keep its old roles until it leaves the cache
(MCP_AZURE_TOKEN_CACHE_TTL).

Run it with the same storage settings as the server (DATABASE_URL, or GATEHOUSE_DATA_DIR for SQLite).`;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Parsed {
  action: 'list' | 'add' | 'remove';
  positional: string[];
  team: string | null;
  json: boolean;
}

export const membersCommand: Command = {
  name: 'members',
  summary: 'List, add or remove org and team memberships (members list|add|remove).',
  help: HELP,
  async run(argv) {
    const parsed = parseArguments(argv);
    if (typeof parsed === 'string') {
      console.error(`gatehouse members: ${parsed}\n\n${HELP}`);
      return 2;
    }
    const config = loadConfigOrExplain();
    if (config === undefined) return 1;
    const stores = openStores(config);
    try {
      await stores.durable.migrate();
      return await perform(stores.durable, parsed);
    } catch (error) {
      if (isGatehouseError(error)) {
        console.error(`${error.message} (${error.code})`);
        return 1;
      }
      throw error;
    } finally {
      await stores.close();
    }
  },
};

function parseArguments(argv: readonly string[]): Parsed | string {
  const [action, ...rest] = argv;
  if (action !== 'list' && action !== 'add' && action !== 'remove')
    return `expected list, add or remove (got: ${action ?? 'nothing'}).`;
  const positional: string[] = [];
  let team: string | null = null;
  let json = false;
  for (let index = 0; index < rest.length; index++) {
    const arg = rest[index] as string;
    if (arg === '--team') {
      const value = rest[++index];
      if (value === undefined || value === '') return '--team needs a team name.';
      team = value;
    } else if (arg.startsWith('--team=')) {
      team = arg.slice('--team='.length);
      if (team === '') return '--team needs a team name.';
    } else if (arg === '--json') json = true;
    else if (arg.startsWith('--')) return `unknown option ${arg}.`;
    else positional.push(arg);
  }
  if (action === 'list') {
    if (positional.length > 1) return `list takes at most one user (got: ${positional.join(' ')}).`;
    if (team !== null) return '--team is for add and remove.';
  } else {
    if (positional.length !== 3)
      return `${action} needs <user> <org> <role> (got: ${positional.join(' ') || 'nothing'}).`;
    if (json) return '--json is for list.';
  }
  return { action, positional, team, json };
}

async function perform(store: DurableStore, parsed: Parsed): Promise<number> {
  if (parsed.action === 'list') {
    const [who] = parsed.positional;
    const user = who === undefined ? undefined : await findUser(store, who);
    const memberships =
      user === undefined ? await store.memberships.listAll() : await store.memberships.listForUser(user.id);
    const users = new Map<string, UserRecord | undefined>();
    if (user !== undefined) users.set(user.id, user);
    for (const membership of memberships)
      if (!users.has(membership.userId))
        users.set(membership.userId, await store.users.findById(membership.userId));
    printList(memberships, users, parsed.json, user);
    return 0;
  }
  const [who, org, role] = parsed.positional as [string, string, string];
  const user = await findUser(store, who);
  const input = { userId: user.id, org, team: parsed.team, role };
  const where = `${parsed.team === null ? `organization ${org}` : `team ${parsed.team} of ${org}`}`;
  if (parsed.action === 'add') {
    await store.memberships.add(input);
    console.log(`${describeUser(user)} is ${role} in ${where}.`);
    return 0;
  }
  if (!(await store.memberships.remove(input))) {
    throw new GatehouseError(
      'GH_MEMBERS_NOT_FOUND',
      `${describeUser(user)} has no ${role} membership in ${where}: gatehouse members list ${user.id} shows theirs.`,
    );
  }
  console.log(`${describeUser(user)} is no longer ${role} in ${where}.`);
  return 0;
}

/** The user `who` names: an id, tenantId/objectId, or a preferred username that only one user has. */
export async function findUser(store: DurableStore, who: string): Promise<UserRecord> {
  const slash = who.indexOf('/');
  let found: UserRecord | undefined;
  if (UUID.test(who)) found = await store.users.findById(who.toLowerCase());
  else if (slash > 0 && slash < who.length - 1 && !who.includes('@'))
    found = await store.users.findByIdentity(who.slice(0, slash), who.slice(slash + 1));
  else {
    const matches = await store.users.findByPreferredUsername(who);
    if (matches.length > 1) {
      throw new GatehouseError(
        'GH_MEMBERS_USER_AMBIGUOUS',
        `${matches.length} users signed in as '${who}' (in different tenants): name one by id or tenantId/objectId:\n` +
          matches.map((user) => `  ${user.id}  ${user.tenantId}/${user.objectId}`).join('\n'),
      );
    }
    found = matches[0];
  }
  if (found === undefined) {
    throw new GatehouseError(
      'GH_MEMBERS_USER_NOT_FOUND',
      `No user is known as '${who}'. Name a user by Gatehouse id, tenantId/objectId or preferred username; a user is known after their first sign-in (gatehouse members list shows the users with memberships).`,
    );
  }
  return found;
}

function describeUser(user: UserRecord): string {
  return user.preferredUsername ?? user.displayName ?? `${user.tenantId}/${user.objectId}`;
}

function printList(
  memberships: readonly MembershipRecord[],
  users: ReadonlyMap<string, UserRecord | undefined>,
  json: boolean,
  only: UserRecord | undefined,
): void {
  const rows = memberships.map((membership) => {
    const user = users.get(membership.userId);
    return {
      userId: membership.userId,
      tenantId: user?.tenantId ?? null,
      objectId: user?.objectId ?? null,
      username: user?.preferredUsername ?? null,
      org: membership.org,
      team: membership.team,
      role: membership.role,
      since: membership.createdAt.toISOString(),
    };
  });
  if (json) {
    console.log(JSON.stringify(rows, null, 2));
    return;
  }
  if (rows.length === 0) {
    console.log(only === undefined ? 'No memberships.' : `${describeUser(only)} has no memberships.`);
    return;
  }
  const table = [
    ['USER', 'USERNAME', 'TENANT/OBJECT', 'ORG', 'TEAM', 'ROLE', 'SINCE'],
    ...rows.map((row) => [
      row.userId,
      row.username ?? '-',
      row.tenantId === null ? '-' : `${row.tenantId}/${row.objectId}`,
      row.org,
      row.team ?? '(organization)',
      row.role,
      row.since,
    ]),
  ];
  const widths = table[0]!.map((_, column) =>
    Math.max(...table.map((line) => (line[column] as string).length)),
  );
  for (const line of table)
    console.log(
      line
        .map((cell, column) => (column === line.length - 1 ? cell : cell.padEnd(widths[column] as number)))
        .join('  '),
    );
}
