import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  exposedName,
  exposedUri,
  MAX_EXPOSED_NAME,
  parseExposedUri,
  serverOfName,
} from '../../../src/gateway/naming.js';

describe('exposedName', () => {
  it('prefixes a short name with the server and two underscores', () => {
    expect(exposedName('github', 'search_issues')).toBe('github__search_issues');
  });

  it('keeps a name of exactly 64 characters as it is', () => {
    const tool = 'x'.repeat(64 - 'github__'.length);
    expect(exposedName('github', tool)).toBe(`github__${tool}`);
    expect(exposedName('github', tool)).toHaveLength(64);
  });

  it('shortens a longer name to exactly 64 characters, keeping the server prefix', () => {
    const tool = 'create_or_update_a_pull_request_review_comment_on_a_specific_line';
    const name = exposedName('github', tool);
    expect(`github__${tool}`.length).toBeGreaterThan(MAX_EXPOSED_NAME);
    expect(name).toHaveLength(MAX_EXPOSED_NAME);
    expect(name.startsWith('github__')).toBe(true);
    expect(serverOfName(name)).toBe('github');
  });

  it('keeps as much of the original as fits, then _ and 8 hex digits of its SHA-256', () => {
    const tool = 'a'.repeat(100);
    const hash = createHash('sha256').update(tool).digest('hex').slice(0, 8);
    expect(exposedName('gh', tool)).toBe(`gh__${'a'.repeat(64 - 4 - 9)}_${hash}`);
  });

  it('gives the same name for the same input', () => {
    const tool = 'q'.repeat(80);
    expect(exposedName('search', tool)).toBe(exposedName('search', tool));
  });

  it('tells apart two long names that share their first 60 characters', () => {
    const start = 'list_'.repeat(12);
    expect(start).toHaveLength(60);
    const one = exposedName('jira', `${start}open_issues`);
    const two = exposedName('jira', `${start}closed_issues`);
    expect(one).not.toBe(two);
    expect(one).toHaveLength(64);
    expect(two).toHaveLength(64);
  });

  it('fits a server name of the longest allowed length', () => {
    const server = 'x'.repeat(32);
    const name = exposedName(server, 'y'.repeat(64));
    expect(name).toHaveLength(64);
    expect(serverOfName(name)).toBe(server);
  });
});

describe('serverOfName', () => {
  it('reads the server of a prefixed name', () => {
    expect(serverOfName('github__search_issues')).toBe('github');
    expect(serverOfName('my-server__a__b')).toBe('my-server');
    expect(serverOfName(exposedName('my_server', 'z'.repeat(90)))).toBe('my_server');
  });

  it('gives undefined for a built-in name or an empty prefix', () => {
    expect(serverOfName('calculate_sum')).toBeUndefined();
    expect(serverOfName('__tool')).toBeUndefined();
    expect(serverOfName('')).toBeUndefined();
  });
});

describe('exposedUri and parseExposedUri', () => {
  it('puts the server in front of the upstream URI', () => {
    expect(exposedUri('files', 'file:///srv/readme.md')).toBe('gatehouse://files/file:///srv/readme.md');
  });

  it.each([
    ['files', 'file:///srv/readme.md'],
    ['github', 'https://github.com/org/repo/blob/main/README.md?plain=1#L3'],
    ['github', 'repo://{owner}/{repo}/issues/{number}'],
    ['db', 'postgres://db/tables/{table}'],
    ['notes', 'note-1'],
    ['notes', ''],
  ])('round-trips %s %s', (server, uri) => {
    expect(parseExposedUri(exposedUri(server, uri))).toEqual({ server, uri });
  });

  it.each([
    'file:///srv/readme.md',
    'https://gatehouse/files/x',
    'gatehouse://',
    'gatehouse://files',
    'gatehouse:///x',
    'Gatehouse://files/x',
  ])('gives undefined for %s', (uri) => {
    expect(parseExposedUri(uri)).toBeUndefined();
  });
});
