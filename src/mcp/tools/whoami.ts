import { z } from 'zod';
import { defineTool } from '../tool.js';

export const whoami = defineTool({
  name: 'whoami',
  title: 'Who am I',
  description:
    'Returns the identity Gatehouse sees for the caller: user id, tenant, object id, name, roles and scopes.',
  input: z.strictObject({}),
  output: z.object({
    userId: z.string(),
    tenantId: z.string(),
    objectId: z.string(),
    name: z.string().nullable(),
    preferredUsername: z.string().nullable(),
    authKind: z.string(),
    roles: z.array(z.string()),
    scopes: z.array(z.string()),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  run(_args, { caller }) {
    const identity = {
      userId: caller.userId,
      tenantId: caller.tenantId,
      objectId: caller.objectId,
      name: caller.displayName,
      preferredUsername: caller.preferredUsername,
      authKind: caller.kind,
      roles: [...caller.roles],
      scopes: [...caller.scopes],
    };
    const who = caller.displayName ?? caller.preferredUsername ?? caller.objectId;
    return {
      structured: identity,
      text: `You are ${who} (tenant ${caller.tenantId}, object ${caller.objectId}), signed in as ${caller.kind}.`,
    };
  },
});
