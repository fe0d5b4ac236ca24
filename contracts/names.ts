/**
 * StreamingTree's child resource names and their parser. The component names every child
 * `<tree>-<kind>-<id>` (aws-cdk: child ids are part of the public contract; a renamed child is
 * a replaced child), where <tree> is the component's name and <id> a stable id of the plan:
 *   <tree>-bridge-<node>        OvsBridge        node id
 *   <tree>-tunnel-<a>-<b>       GreTunnel        link: the two node ids
 *   <tree>-path-<id>@<leaf>     FlowPath         path id and the leaf it reaches now
 *   <tree>-vm-<name>            MigratedDomain   VM name
 * Node, path and VM ids start with a lowercase letter (components/topology/model.ts); the
 * parser takes the first `-<kind>-` followed by one, so it needs no tree name. The names are
 * in deployed URNs: changing the scheme replaces every child of every stack.
 */

export const CHILD_KINDS = ['bridge', 'tunnel', 'path', 'vm'] as const;
export type ChildKind = (typeof CHILD_KINDS)[number];

/** The Pulumi resource name of a StreamingTree's child. */
export function childName(tree: string, kind: ChildKind, id: string): string {
  return `${tree}-${kind}-${id}`;
}

/** The id in a child's name (`tree-bridge-h1` -> `h1`), or undefined when it is not a `kind` child's name. */
export function childIdOf(name: string, kind: ChildKind): string | undefined {
  const i = name.search(new RegExp(`-${kind}-[^-]`));
  return i < 0 ? undefined : name.slice(i + kind.length + 2);
}

/** Tree, kind and id of a child's name, or undefined when the name is not a StreamingTree child's. */
export function parseChildName(name: string): { tree: string; kind: ChildKind; id: string } | undefined {
  let best: { tree: string; kind: ChildKind; id: string } | undefined;
  for (const kind of CHILD_KINDS) {
    const id = childIdOf(name, kind);
    if (id === undefined) continue;
    const tree = name.slice(0, name.length - id.length - kind.length - 2);
    if (!best || tree.length < best.tree.length) best = { tree, kind, id };
  }
  return best;
}

/** The id of a path's FlowPath (`<path id>@<leaf>`): the path id and its current leaf. */
export function parsePathName(name: string): { path: string; leaf: string } | undefined {
  const at = name.lastIndexOf('@');
  return at <= 0 || at === name.length - 1 ? undefined : { path: name.slice(0, at), leaf: name.slice(at + 1) };
}
