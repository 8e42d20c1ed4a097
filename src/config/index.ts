export {
  type ChatSettings,
  type EntraCredentialConfig,
  type GatehouseConfig,
  isAuthorizationServer,
} from './config.js';
export { type Environment, isLoopbackHost, loadConfig } from './load.js';
export { redactUrl, VARIABLES } from './variables.js';
