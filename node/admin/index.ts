// Public surface of the admin API: the JSON-RPC server on a Unix socket, its client, the method
// tables and the error codes.
export { DEFAULT_ADMIN_SOCKET } from './default-socket.ts';
export { ADMIN_IN_FLIGHT_PER_CONNECTION_MAX, ADMIN_UNREAD_RESPONSE_BYTES_MAX, startAdminServer, type AdminServer, type AdminServerCounters, type AdminServerOptions } from './admin-server.ts';
export { callAdmin, AdminCallError, AdminConnection, type CallOptions, type ClientErrorCode, type ConnectionOptions } from './admin-client.ts';
export { watchAdmin, type WatchOptions } from './admin-watch.ts';
export { ADMIN_ERROR_CODES, AdminError, InvalidParamsError, classifyError, toRpcError, type AdminErrorCode, type RpcError } from './admin-errors.ts';
export { defineMethod, Subscription, type AdminMethod, type MethodTable, type NotificationSink } from './method-table.ts';
export { controllerMethods } from './controller-methods.ts';
export { agentMethods } from './agent-methods.ts';
export { readMethods } from './read-methods.ts';
export type * from './controller-api.ts';
export { AdminSocketError, type AdminSocketCode } from './socket-file.ts';
