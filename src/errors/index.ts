export { ERROR_CATALOGUE, type ErrorCode } from './codes.js';
export { GatehouseError, isGatehouseError, StorageUnavailableError } from './gatehouse-error.js';
