// People's and pools' names by id, learnt from what the pages read, so
// that the banner and the notices say "Alice Agent" and "Sales" rather
// than "alice" and "sales". An id stands in until its name is known.
export const names = { users: new Map(), pools: new Map() };

export function learnNames({ users = [], pools = [] }) {
  for (const u of users) if (u && u.name) names.users.set(u.id, u.name);
  for (const p of pools) if (p && p.name) names.pools.set(p.id, p.name);
}

export const userName = (id) => names.users.get(id) || id;
export const poolName = (id) => names.pools.get(id) || id;
