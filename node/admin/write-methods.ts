// The admin methods that change the federation, for clients that must know it without the method
// table (node/client/client.ts retries a write elsewhere only when it was surely not stored). The
// controller's table marks the same methods `access: 'write'`; test/node/remote-admin-write-methods.test.ts
// keeps the two equal.

/** Methods that change the federation. */
export const WRITE_METHODS: ReadonlySet<string> = new Set([
  'resources.apply', 'resources.delete', 'conflicts.resolve', 'federation.sync', 'federation.reconcile',
  'federation.members.deny', 'federation.members.remove', 'federation.members.add', 'federation.members.promote',
]);

/** Whether `method` changes the federation. */
export function isWriteMethod(method: string): boolean {
  return WRITE_METHODS.has(method);
}
