// The client's list of methods that change the federation (node/admin/write-methods.ts: it decides
// which calls may be retried elsewhere) must be exactly the methods the controller's table marks
// `access: 'write'` (which remote viewers may not call).
import t from 'tap';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { WRITE_METHODS } from '../../node/admin/write-methods.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';

t.test('the write methods of the client and of the controller are the same', async (t) => {
  // The table only reads the member name when it is built; handlers are not called here.
  const table = controllerMethods({ membership: { memberName: 'c1' } } as unknown as ControllerNode);
  const marked = Object.entries(table).filter(([, m]) => m.access === 'write').map(([name]) => name).sort();
  t.same(marked, [...WRITE_METHODS].sort());
  t.ok(marked.includes('resources.apply') && !marked.includes('resources.get'), 'sanity: apply writes, get reads');
});
