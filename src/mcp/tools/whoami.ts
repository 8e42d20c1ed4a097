import { z } from 'zod';
import { defineTool } from '../tool.js';

export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description:
    'Says who the caller is: name, username, tenant and roles (plus the ids and scopes Gatehouse decides with).',
  input: z.strictObject({}),
  output: z.object({
    userId: z.string(),
    tenantId: z.string(),
    objectId: z.string(),
    name: z.string().nullable(),
    preferredUsername: z.string().nullable(),
    roles: z.array(z.string()),
    scopes: z.array(z.string()),
    /** How the caller authenticated (entra, gatehouse, app, path token, development): secondary. */
    authKind: z.string(),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  run(_args, { caller }) {
    const identity = {
      userId: caller.userId,
      tenantId: caller.tenantId,
      objectId: caller.objectId,
      name: caller.displayName,
      preferredUsername: caller.preferredUsername,
      roles: [...caller.roles],
      scopes: [...caller.scopes],
      authKind: caller.kind,
    };
    const name = caller.displayName ?? caller.preferredUsername ?? `the account ${caller.objectId}`;
    const username =
      caller.preferredUsername !== null && caller.preferredUsername !== name
        ? ` (${caller.preferredUsername})`
        : '';
    const roles = caller.roles.length === 0 ? 'no roles' : `roles: ${caller.roles.join(', ')}`;
    return {
      structured: identity,
      text: `You are ${name}${username}, in tenant ${caller.tenantId}; ${roles}.`,
    };
  },
});
