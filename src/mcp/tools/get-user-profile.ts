import { z } from 'zod';
import { isGatehouseError } from '../../errors/index.js';
import { defineTool } from '../tool.js';
import { delegationFor, ME_SELECT } from './graph-access.js';

export const getUserProfile = defineTool({
  name: 'get_user_profile',
  title: 'My profile',
  description:
    'Who the caller is: the identity from their token (tenant, object id, name, roles), enriched with their Microsoft Graph profile (mail, job title) when Gatehouse can read it on their behalf.',
  input: z.strictObject({}),
  output: z.object({
    userId: z.string(),
    tenantId: z.string(),
    objectId: z.string(),
    name: z.string().nullable(),
    preferredUsername: z.string().nullable(),
    roles: z.array(z.string()),
    mail: z.string().nullable(),
    jobTitle: z.string().nullable(),
    /** Where mail and jobTitle came from: 'graph', or 'token' when Graph could not be read. */
    source: z.enum(['graph', 'token']),
    /** Why Graph was not used, when it was not. */
    graphUnavailable: z.string().optional(),
  }),
  annotations: { readOnlyHint: true, openWorldHint: true },
  async run(_args, context) {
    const { caller } = context;
    const profile = {
      userId: caller.userId,
      tenantId: caller.tenantId,
      objectId: caller.objectId,
      name: caller.displayName,
      preferredUsername: caller.preferredUsername,
      roles: [...caller.roles],
      mail: null as string | null,
      jobTitle: null as string | null,
      source: 'token' as 'graph' | 'token',
    };
    let graphUnavailable: string | undefined;
    try {
      const { delegated, subject } = await delegationFor(context);
      const me = await delegated.graph(subject, 'User.Read', `/v1.0/me?$select=${ME_SELECT}`, {
        kind: caller.kind,
      });
      if (typeof me.displayName === 'string') profile.name = me.displayName;
      if (typeof me.userPrincipalName === 'string') profile.preferredUsername ??= me.userPrincipalName;
      profile.mail = typeof me.mail === 'string' ? me.mail : null;
      profile.jobTitle = typeof me.jobTitle === 'string' ? me.jobTitle : null;
      profile.source = 'graph';
    } catch (error) {
      // The profile from the token is still an answer: Graph only adds to it.
      if (!isGatehouseError(error)) throw error;
      graphUnavailable = `${error.code}: ${error.message}`;
    }
    const who = profile.name ?? profile.preferredUsername ?? profile.objectId;
    const lines = [
      `You are ${who} (tenant ${profile.tenantId}, object ${profile.objectId}).`,
      `Roles: ${profile.roles.length > 0 ? profile.roles.join(', ') : 'none'}.`,
      ...(profile.source === 'graph'
        ? [
            `Mail: ${profile.mail ?? '(none)'}; job title: ${profile.jobTitle ?? '(none)'} (from Microsoft Graph).`,
          ]
        : [`Microsoft Graph was not available: ${graphUnavailable}`]),
    ];
    return {
      structured: { ...profile, ...(graphUnavailable !== undefined ? { graphUnavailable } : {}) },
      text: lines.join('\n'),
    };
  },
});
