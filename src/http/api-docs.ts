import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';

/**
 * The OpenAPI 3.1 document of Gatehouse's HTTP API, generated from the route schemas, at
 * /openapi.json, and a page that renders it at /docs. Registered before the routes so it sees them.
 */
export async function registerApiDocs(
  app: FastifyInstance,
  options: { version: string; baseUrl: string },
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Gatehouse',
        version: options.version,
        description:
          'The HTTP API of Gatehouse, the Entra ID-secured MCP gateway. MCP clients use /mcp (Streamable HTTP); this document covers the rest. Every /api route takes a bearer token, as /mcp does.',
      },
      servers: [{ url: options.baseUrl }],
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });
}
