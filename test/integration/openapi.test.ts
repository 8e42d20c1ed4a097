import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// The HTTP API's OpenAPI 3.1 document is generated from the route schemas (@fastify/swagger), not
// written by hand: the registry routes appear in it with their methods, parameters and bodies.
describe('OpenAPI at /openapi.json and /docs', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('describes the registry API in OpenAPI 3.1', async () => {
    const response = await t.app.inject('/openapi.json');
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Gatehouse');
    const paths = document.paths as Record<string, Record<string, unknown>>;
    expect(Object.keys(paths['/api/servers'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(paths['/api/servers/{name}'] ?? {}).sort()).toEqual(['delete', 'get', 'put']);
    expect(paths['/api/servers/{name}/health']).toHaveProperty('get');
    expect(paths['/api/servers/{name}/tools']).toHaveProperty('get');
    const create = paths['/api/servers']?.post as {
      requestBody: { content: Record<string, { schema: { required: string[] } }> };
    };
    expect(create.requestBody.content['application/json']?.schema.required).toEqual(['name']);
    expect(document.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    // Internal routes stay out of it.
    expect(paths['/openapi.json']).toBeUndefined();
  });

  it('serves a page that renders it at /docs', async () => {
    const response = await t.app.inject('/docs/');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('text/html');
    expect(response.body).toContain('swagger-ui');
  });
});
