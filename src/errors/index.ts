export { ERROR_CATALOGUE, type ErrorCode } from './codes.js';
export { GatehouseError, StorageUnavailableError, isGatehouseError } from './gatehouse-error.js';
