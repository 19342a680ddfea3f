// Controller admin methods called as the admin socket calls them, for in-process tests of live
// membership: the parameters parsed, then the handler; and the abort signal of a joining controller.
import type { Test } from 'tap';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';

/** Admin method `name` of `node`: its parameters parsed, then its handler. */
export function method(node: ControllerNode, name: string): (raw: unknown) => Promise<unknown> {
  const m = controllerMethods(node)[name]!;
  return async (raw) => m.handler(m.params(raw));
}

/** Aborted at teardown: a joiner that was never added stops waiting. */
export function joinSignal(t: Test): AbortSignal {
  const ac = new AbortController();
  t.teardown(() => ac.abort(new Error('test over')));
  return ac.signal;
}
