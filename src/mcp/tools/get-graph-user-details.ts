import { z } from 'zod';
import { defineTool } from '../tool.js';
import { delegationFor, ME_SELECT } from './graph-access.js';

const nullableString = z.string().nullable();

export const getGraphUserDetails = defineTool({
  name: 'get_graph_user_details',
  title: 'My Microsoft Graph profile',
  description:
    "Reads the caller's profile from Microsoft Graph (/me) on their behalf (on-behalf-of, delegated User.Read): display name, mail, user principal name, id, job title and the other default properties.",
  input: z.strictObject({}),
  output: z.object({
    success: z.boolean(),
    id: z.string(),
    displayName: nullableString,
    givenName: nullableString,
    surname: nullableString,
    mail: nullableString,
    userPrincipalName: nullableString,
    jobTitle: nullableString,
    officeLocation: nullableString,
    mobilePhone: nullableString,
    businessPhones: z.array(z.string()),
    preferredLanguage: nullableString,
  }),
  annotations: { readOnlyHint: true, openWorldHint: true },
  async run(_args, context) {
    const { delegated, subject } = await delegationFor(context);
    const me = await delegated.graph(subject, 'User.Read', `/v1.0/me?$select=${ME_SELECT}`, {
      kind: context.caller.kind,
    });
    const text = (key: string) => (typeof me[key] === 'string' ? (me[key] as string) : null);
    const profile = {
      success: true,
      id: String(me.id ?? context.caller.objectId),
      displayName: text('displayName'),
      givenName: text('givenName'),
      surname: text('surname'),
      mail: text('mail'),
      userPrincipalName: text('userPrincipalName'),
      jobTitle: text('jobTitle'),
      officeLocation: text('officeLocation'),
      mobilePhone: text('mobilePhone'),
      businessPhones: Array.isArray(me.businessPhones)
        ? me.businessPhones.filter((phone): phone is string => typeof phone === 'string')
        : [],
      preferredLanguage: text('preferredLanguage'),
    };
    const lines = [
      `Microsoft Graph profile of ${profile.displayName ?? profile.userPrincipalName ?? profile.id}:`,
      `- user principal name: ${profile.userPrincipalName ?? '(none)'}`,
      `- mail: ${profile.mail ?? '(none)'}`,
      `- job title: ${profile.jobTitle ?? '(none)'}`,
      `- id: ${profile.id}`,
    ];
    return { structured: profile, text: lines.join('\n') };
  },
});
