import type {
  ChainFilter,
  CompartmentFilter,
  CompositeFilter,
  CursorPosition,
  DateRangeMatch,
  IndexFilter,
  NumberMatch,
  QuantityFilter,
  QuantityMatch,
  ReferenceFilter,
  ReferenceInclude,
  ReferenceMatch,
  ReverseChainFilter,
  SearchFilter,
  SearchQuery,
  SortDirection,
  SortSpec,
  SortValueType,
  StringFilter,
  StringMatch,
  TokenFilter,
  TokenMatch,
  UriFilter,
  UriMatch,
} from './search-query.js';
import { isPlaceholder, prefixUpperBound, type Derived } from './search-shape.js';

/**
 * Compiles a SearchQuery into SQL. Rules that every query obeys:
 * - every value, parameter code and resource type is a bound parameter; the SQL text is built only
 *   from the constants in this file and validated integers (page size, walk budget, count limit);
 * - every table is constrained by partition_id and resource_type first, so the tenant-leading
 *   indexes are used (and a distributed deployment can route the query to one shard);
 * - each filter is an EXISTS subquery on one index table, correlated with its subject: `resources r`,
 *   or, inside a chain or `_has`, the resource at the other end of a search_reference row;
 * - pages are keyset pages over (sort keys…, id), never OFFSET, with one extra row to tell
 *   whether there is a next page.
 */

/** Totals are counted exactly up to this many matches; beyond it the total is left out. */
export const TOTAL_THRESHOLD = 10000;

export interface SqlQuery { text: string; values: unknown[] }

/**
 * The columns a search returns for a resource (alias `row`), in the shape of src/store/search.ts's
 * rows: id and content, and unless `query.columns` is 'content' the version and instants. Instants
 * come back as PostgreSQL prints them and are formatted in the node (isoInstant in
 * src/store/database.ts): to_char() cost PostgreSQL as much as reading the page, and even printing
 * them costs about a microsecond each, a third of a 20-row page's time when all three were read.
 */
function resourceColumns(row: string, query: SearchQuery): string[] {
  const columns = [`${row}.id`, `${row}.content`];
  if (query.columns !== 'content') columns.push(`${row}.version_id`, `${row}.created_at`, `${row}.last_updated`);
  return columns;
}

/**
 * The page query: rows after `query.after`, pageSize + 1 of them, with sort keys `k0…` for the
 * cursor. It runs in two phases (late materialisation): an inner query finds and orders the page's
 * ids touching only the index tables and the narrow covering indexes on `resources` (migration
 * 005), so each match a filter visits costs an index probe; only the page's rows are then read
 * whole (content is a TOASTed kilobyte or more). A page sorted by _lastUpdated whose filter names
 * its targets is merged from their ordered references (mergedPage); any other is scanned from
 * `resources` (scannedPage). A search without filters or sort joins reads its rows whole at once:
 * every row it reads is a page row. See docs/search.md, "Query shapes" and "Merged pages". With
 * `query.include` the same statement then returns the live resources the page's rows reference,
 * marked by `included_type`.
 */
export function compileSearch(query: SearchQuery, partitionId: number, form: PageForm = 'complete'): SqlQuery {
  assertPageSize(query.pageSize);
  const scope = new Scope(partitionId, query.resourceType);
  const keys = sortKeys(query.sort, scope);
  const ctes: string[] = [];
  const first = form === 'driven first' ? drivenFirstFilter(query) : undefined;
  if (form === 'driven first' && !first) throw new RangeError('no filter of this search drives it first');
  const driver = first ? undefined : mergeDriver(query);
  const indexed = first || driver || query.filters.length > 0 || query.pageSize === 0 ? undefined : indexedSort(query);
  const { page, direct } =
    first ? { page: drivenFirstPage(query, first, keys, scope, ctes), direct: false }
    : driver ? { page: mergedPage(query, driver, keys, scope, ctes), direct: false }
    : indexed ? { page: sortIndexPage(query, indexed, keys, scope, ctes), direct: false }
    : scannedPage(query, keys, scope, ctes);
  // Outside the inner query the keys are its output columns o0, o1, …
  const pageKeys = keys.map((key, i) => ({ ...key, expr: `page.o${i}` }));
  // The cursor keeps the sort's own keys (k0, k1, …); the appended id tie-breaker is the row's id.
  const sortedKeys = pageKeys.slice(0, query.sort.length);
  const cursorKeys = sortedKeys.map((key, i) => `${key.expr} AS k${i}`);
  const pageOrder = pageKeys.map(orderByTerm).join(', ');
  const from = [
    `FROM (\n${page}\n) AS page`,
    ...(direct ? [] : [`JOIN resources r ON r.partition_id = ${scope.partition} AND r.resource_type = ${scope.resourceType} AND r.id = page.${idOutput(keys)}`]),
  ];
  const rowColumns = resourceColumns(direct ? 'page' : 'r', query);
  let main = [`SELECT ${[...rowColumns, ...cursorKeys].join(', ')}`, ...from, `ORDER BY ${pageOrder}`].join('\n');
  let columnCount = rowColumns.length + cursorKeys.length;
  if (query.include?.length && query.pageSize > 0) {
    // The page and what it references in one statement: one round trip for an _include.
    ctes.push(`matches AS MATERIALIZED (\nSELECT ${[...rowColumns, ...cursorKeys, `row_number() OVER (ORDER BY ${pageOrder}) AS position`].join(', ')}\n${from.join('\n')})`);
    main = [
      `SELECT *, NULL::text AS included_type FROM matches`,
      'UNION ALL',
      `SELECT ${[...resourceColumns('t', query), ...sortedKeys.map((key, i) => `NULL::${key.type} AS k${i}`), 'NULL::bigint AS position', 't.resource_type AS included_type'].join(', ')}`,
      `FROM resources t WHERE t.partition_id = ${scope.partition} AND NOT t.deleted AND (t.resource_type, t.id) IN (${referencedKeys(query.include, query.pageSize, scope)})`,
      'ORDER BY position NULLS LAST, included_type, id',
    ].join('\n');
    columnCount += 2;
  }
  // Too many matches to drive the page: one row of nulls tells runSearch to run the complete statement.
  if (first) main = `(${main})\nUNION ALL\nSELECT ${Array.from({ length: columnCount }, () => 'NULL').join(', ')} WHERE NOT ${DRIVEN_FIRST_FITS}`;
  const text = [...(ctes.length ? [`WITH ${ctes.join(',\n')}`] : []), main].join('\n');
  return { text, values: scope.values };
}

/**
 * The page's ids and sort keys (`o0, o1, …`) found from `resources` in sort order: walked with
 * the filters tested on each row, or planned by PostgreSQL (see compileSearch). `direct` pages
 * also return the resource columns.
 */
function scannedPage(query: SearchQuery, keys: SortKey[], scope: Scope, ctes: string[]): { page: string; direct: boolean } {
  const keyset = resumeAfter(query, keys, scope);
  // Page size and walk budget are validated integers written into the text, not bound: a statement
  // planned once for all values (a generic plan, src/store/search.ts) must still know its LIMIT.
  const limit = String(query.pageSize + 1);
  const ids = idOutput(keys);
  const outputs = keys.map((key, i) => `${key.expr} AS o${i}`).join(', ');
  const orderBy = keys.map(orderByTerm).join(', ');
  const sortJoins = keys.flatMap((key) => (key.join ? [key.join] : []));
  // Sorting on a parameter: the matches first, behind an optimisation fence (OFFSET 0), then
  // their search_sort rows. Left to itself the planner, underestimating the matches, joins the
  // sort rows (a heap read each) before the most selective filter has run.
  const sorted = (matches: string, rows: string) =>
    [
      `SELECT ${outputs} FROM ${matches}`,
      ...sortJoins,
      ...(keyset.length ? [`WHERE ${keyset.join(' AND ')}`] : []),
      `ORDER BY ${orderBy} LIMIT ${rows}`,
    ].join('\n');
  const named = sortJoins.length > 0 ? namedFilter(query) : undefined;
  if (named) return { page: sorted(namedMatches(query, named, scope), limit), direct: false };

  const filters = query.filters.map((filter) => filterCondition(filter, scope, rootSubject(scope)));
  const search = (extra: string[], rows: string) => {
    const matching = [...resourceConditions(scope), ...filters, ...extra];
    if (sortJoins.length === 0) return [`SELECT ${outputs} FROM resources r`, `WHERE ${[...matching, ...keyset].join(' AND ')}`, `ORDER BY ${orderBy} LIMIT ${rows}`].join('\n');
    return sorted(`(SELECT r.id, r.last_updated, r.created_at FROM resources r WHERE ${matching.join(' AND ')} OFFSET 0) AS r`, rows);
  };

  // Without filters or sort joins every row the inner query reads is a page row, and a filter that
  // names resources (a patient's references, say) matches few more than a page: such a query reads
  // its rows whole, where the join back to resources would repeat each page row's lookup.
  const direct = sortJoins.length === 0 && (query.filters.length === 0 || namesResources(query));
  let page = direct
    ? `SELECT ${[...resourceColumns('r', query), outputs].join(', ')} FROM resources r WHERE ${[...resourceConditions(scope), ...filters, ...keyset].join(' AND ')} ORDER BY ${orderBy} LIMIT ${limit}`
    : search([], limit);
  if (walkable(query)) {
    // The walk's matches are the first matches in sort order; the rest come from one of the
    // searches after it, and when the walk filled the page their LIMIT is 0, so PostgreSQL never
    // starts them.
    const indexed = indexedSort(query);
    // Every filter is tested on the row in hand (see adaptiveCondition). The counts the hashable
    // ones make set the walk's budget and choose the search that completes the page. A walk of the
    // sort index has ids in hand, not rows: the filters on resource columns probe theirs (withRow).
    const walked: Subject = indexed ? { id: 'r.id', type: scope.resourceType, probe: 'adaptive' } : { ...rootSubject(scope), probe: 'adaptive' };
    const counts: WalkCount[] = [];
    const tests = query.filters.map((filter) => {
      if ((listed(filter) && adaptiveOn(filter, walked)) || hoistsHash(filter, walked)) counts.push({ name: scope.nextCountName(), filter });
      return filterCondition(filter, scope, walked);
    });
    const budget = walkLimit(counts, query.pageSize, indexed ? 'sortIndex' : 'resources');
    ctes.push(...scope.counts, (indexed ? sortIndexWalk(query, indexed, keys, budget, scope) : resourcesWalk(query, outputs, keyset, orderBy, budget, scope)).concat([
      `WHERE ${tests.join(' AND ')}`,
      `ORDER BY ${indexed ? walkOrder(indexed) : orderBy} LIMIT ${limit})`,
    ]).join('\n'));
    const notWalked = `r.id NOT IN (SELECT ${ids} FROM walk)`;
    const rest = `(SELECT ${limit} - count(*) FROM walk)`;
    // One search completes the page: driven by the first filter the walk counted as matching few,
    // or, when none did, planned. Their conditions on the counts are one-time filters, so
    // PostgreSQL starts only the one that holds.
    const drivers = counts.flatMap(({ name, filter }) => (drivesSearch(filter) ? [{ name, filter }] : []));
    const driven = drivers.map(({ name, filter }, i) => {
      const chosen = [few(name), ...drivers.slice(0, i).map((earlier) => `NOT ${few(earlier.name)}`)];
      // Distinct: a resource may match a filter through several of its index rows.
      const candidates = `SELECT DISTINCT d.resource_id AS id FROM (${counted(name)}) AS d`;
      const others = query.filters.filter((other) => other !== filter);
      return [
        `SELECT ${outputs} FROM ${drivenMatches(candidates, others, scope)}${sortJoins.map((join) => `\n${join}`).join('')} WHERE ${[...keyset, notWalked, ...chosen].join(' AND ')}`,
        `ORDER BY ${orderBy} LIMIT ${rest}`,
      ].join('\n');
    });
    const planned = search([notWalked, ...(drivers.length ? [`NOT ${anyOf(drivers.map(({ name }) => few(name)))}`] : [])], rest);
    page = ['SELECT * FROM walk', ...[planned, ...driven].map((branch) => `(${branch})`)].join('\nUNION ALL\n');
  }
  return { page, direct };
}

/** A sort whose values search_sort's indexes keep in order (migrations 012 and 013): one parameter. */
type IndexedSort = SortSpec & { by: 'param' };

/**
 * The query's sort when search_sort's indexes keep it in order: one parameter, or that and `_id`
 * in the same direction (the appended tie-breaker anyway). A filterless search reads its page from
 * the index (sortIndexPage); a filtered one walks it (scannedPage).
 */
function indexedSort(query: SearchQuery): IndexedSort | undefined {
  const [spec, tieBreaker] = query.sort;
  if (spec?.by !== 'param') return undefined;
  const ordered = query.sort.length === 1 || (query.sort.length === 2 && tieBreaker.by === 'id' && tieBreaker.direction === spec.direction);
  return ordered ? spec : undefined;
}

/**
 * The sort's search_sort rows that have a value, after the query's cursor, in sort order, at most
 * `limit`: `sort_value, resource_id`, read from its value column's index. A cursor on a missing value
 * is past them all. `extra` adds conditions on the row (alias given).
 */
function sortIndexRows(query: SearchQuery, sort: IndexedSort, param: string, scope: Scope, limit: string, extra: (row: string) => string[] = () => []): string {
  const column = SORT_COLUMNS[sort.valueType][sort.direction];
  const [value, id] = query.after ? cursorValues(query.sort, query.after) : [undefined, undefined];
  const { keyword: direction, after: operator } = SQL_ORDER[sort.direction];
  const s = scope.alias('s');
  const after = value === undefined ? [] : value === null ? ['FALSE'] : [`(${s}.${column}, ${s}.resource_id) ${operator} (${scope.bind(value, PARAM_SORT_TYPES[sort.valueType])}, ${scope.bind(id, 'text')})`];
  const conditions = [`${s}.partition_id = ${scope.partition}`, `${s}.resource_type = ${scope.resourceType}`, `${s}.param = ${param}`, `${s}.${column} IS NOT NULL`, ...after, ...extra(s)];
  return `SELECT ${s}.${column} AS sort_value, ${s}.resource_id FROM search_sort ${s}\nWHERE ${conditions.join(' AND ')}\nORDER BY ${s}.${column} ${direction}, ${s}.resource_id ${direction} LIMIT ${limit}`;
}

/** The bound parameter name of an indexed sort's key (sortKeys binds it). */
function sortParam(keys: SortKey[]): string {
  const param = keys[0].param;
  if (keys.length !== 2 || !param) throw new RangeError('an indexed sort has its parameter key and the id tie-breaker');
  return param;
}

/**
 * A filterless page sorted on one parameter: the resources with a value, read in
 * order from that column's index on search_sort and kept when live, then, when they did not fill
 * the page, those without one (missing values come last in both directions), walked by id. The
 * second half's LIMIT is what the first left of the page, so on every page but the last PostgreSQL
 * never starts it. A cursor on a missing value resumes in the second half only.
 */
function sortIndexPage(query: SearchQuery, sort: IndexedSort, keys: SortKey[], scope: Scope, ctes: string[]): string {
  const param = sortParam(keys);
  const column = SORT_COLUMNS[sort.valueType][sort.direction];
  const limit = query.pageSize + 1;
  // Fenced (probeFence): a probe per row read, which stops with the page; as a join PostgreSQL
  // hashed every row of the type first.
  const live = (row: string) => [`EXISTS (SELECT 1 FROM resources r WHERE ${resourceConditions(scope).join(' AND ')} AND r.id = ${row}.resource_id OFFSET 0)`];
  ctes.push(`valued AS MATERIALIZED (\nSELECT sort_value AS o0, resource_id AS o1 FROM (${sortIndexRows(query, sort, param, scope, String(limit), live)}) AS v)`);
  const id = query.after && cursorValues(query.sort, query.after)[0] === null ? query.after.id : undefined;
  const order = SQL_ORDER[sort.direction];
  const [t, u] = [scope.alias('s'), scope.alias('s')];
  // Where the values run out, the walk below would read every resource with a value before it
  // knew that none lacks one (1.3 s for 119,000 Observations at 1M). Two counts over index-only
  // scans say whether any does first (index rows exist only for live resources, one sort row per
  // resource and parameter). A cursor on a missing value has met one already.
  const someMissing =
    `(SELECT count(*) FROM resources r WHERE ${resourceConditions(scope).join(' AND ')}) >` +
    ` (SELECT count(*) FROM search_sort ${u} WHERE ${u}.partition_id = ${scope.partition} AND ${u}.resource_type = ${scope.resourceType} AND ${u}.param = ${param} AND ${u}.${column} IS NOT NULL)`;
  const missing = [
    `SELECT NULL::${PARAM_SORT_TYPES[sort.valueType]} AS o0, r.id AS o1 FROM resources r`,
    `WHERE ${[...resourceConditions(scope), id === undefined ? someMissing : `r.id ${order.after} ${scope.bind(id, 'text')}`].join(' AND ')}`,
    // The row's value by primary key, one probe per resource walked: with the value tested in the
    // subquery, PostgreSQL probed the partial value index, whose resource_id follows the value.
    `  AND (SELECT ${t}.${column} FROM search_sort ${t} WHERE ${t}.partition_id = ${scope.partition} AND ${t}.resource_type = ${scope.resourceType}` +
      ` AND ${t}.resource_id = r.id AND ${t}.param = ${param}) IS NULL`,
    `ORDER BY r.id ${order.keyword} LIMIT (SELECT ${limit} - count(*) FROM valued))`,
  ].join('\n');
  return `SELECT * FROM valued\nUNION ALL\n(${missing}`;
}

/**
 * The head of a walk over a sort on the resource's own columns (scannedPage): up to `budget` live
 * resources after the cursor, in order, with the columns the filters' tests read.
 */
function resourcesWalk(query: SearchQuery, outputs: string, keyset: string[], orderBy: string, budget: string, scope: Scope): string[] {
  const columns = ['r.id', 'r.last_updated', 'r.created_at', ...(query.filters.some((filter) => filter.kind === 'missing') ? ['r.index_params'] : [])];
  return [
    'walk AS MATERIALIZED (',
    `SELECT ${outputs} FROM (SELECT ${columns.join(', ')} FROM resources r WHERE ${[...resourceConditions(scope), ...keyset].join(' AND ')} ORDER BY ${orderBy} LIMIT ${budget}) AS r`,
  ];
}

/**
 * The head of a walk over a parameter sort (scannedPage): up to `budget` of the sort's
 * search_sort rows in order, as `sort_value, id`, for the filters' tests (the resources without a
 * value, which come after, are left to the search that completes the page). Index rows exist only
 * for live resources, so a row that fails a hashed filter costs no read of its resource: a fruitless
 * walk over a code's values (which bunch among other units') costs little more than its hash lookups.
 */
function sortIndexWalk(query: SearchQuery, sort: IndexedSort, keys: SortKey[], budget: string, scope: Scope): string[] {
  return [
    'walk AS MATERIALIZED (',
    `SELECT r.sort_value AS o0, r.id AS o1 FROM (SELECT w.sort_value, w.resource_id AS id FROM (${sortIndexRows(query, sort, sortParam(keys), scope, budget)}) AS w) AS r`,
  ];
}

/** A walk's order over its sort values (sortIndexWalk). */
function walkOrder(sort: IndexedSort): string {
  const { keyword } = SQL_ORDER[sort.direction];
  return `r.sort_value ${keyword}, r.id ${keyword}`;
}

/** A sort direction's SQL keyword, and the comparison that means "after" in it. */
const SQL_ORDER = { asc: { keyword: 'ASC', after: '>' }, desc: { keyword: 'DESC', after: '<' } } as const;

/**
 * How compileSearch finds the page. `complete`: in one statement that is right and fast for any
 * number of matches (the walk, then a planned or driven search, chosen by the counts it makes).
 * `driven first`: a short statement runSearch tries before it, for a walkable search with a filter
 * that can drive (drivenFirstFilter): when that filter lists at most DRIVEN_FIRST_MATCHES index
 * rows, their resources are the candidates of the driven search and nothing else runs; otherwise
 * it answers one row of nulls. PostgreSQL initialises every branch of a statement on each
 * execution, those it never runs included: the complete statement of `Patient?name&birthdate`
 * took 0.32 ms a round trip at 100k, the short one 0.26 ms.
 */
export type PageForm = 'complete' | 'driven first';

/** At most this many index rows of its first filter that can drive it: the candidates of the short statement. */
const DRIVEN_FIRST_MATCHES = 100;
const DRIVEN_FIRST_FITS = `(SELECT count(*) FROM first_ids) <= ${DRIVEN_FIRST_MATCHES}`;

/**
 * The filter a walkable search's short statement is driven by (PageForm), if any: its first one
 * listed by one range (a code, a string prefix, a uri, a code and a value), not negated. A chain
 * is not: its listing is empty when its targets are too many to list.
 */
export function drivenFirstFilter(query: SearchQuery): RangeFilter | undefined {
  if (!walkable(query)) return undefined;
  return query.filters.find((filter): filter is RangeFilter => listedByRange(filter) && !negated(filter));
}

/** The short statement's page: the driver's listed matches, each tested for the other filters, when they fit (PageForm). */
function drivenFirstPage(query: SearchQuery, first: RangeFilter, keys: SortKey[], scope: Scope, ctes: string[]): string {
  // One driver per statement: a fixed name.
  ctes.push(`first_ids AS MATERIALIZED (${matchingIds(first, scope, rootSubject(scope))} LIMIT ${DRIVEN_FIRST_MATCHES + 1})`);
  const keyset = resumeAfter(query, keys, scope);
  // Distinct: a resource may match the filter through several of its index rows.
  const candidates = 'SELECT DISTINCT resource_id AS id FROM first_ids';
  const others = query.filters.filter((filter) => filter !== first);
  return [
    `SELECT ${keys.map((key, i) => `${key.expr} AS o${i}`).join(', ')} FROM ${drivenMatches(candidates, others, scope)}${keys.map((key) => (key.join ? `\n${key.join}` : '')).join('')} WHERE ${[...keyset, DRIVEN_FIRST_FITS].join(' AND ')}`,
    `ORDER BY ${keys.map(orderByTerm).join(', ')} LIMIT ${query.pageSize + 1}`,
  ].join('\n');
}

/** The page's output column of the id tie-breaker. */
function idOutput(keys: SortKey[]): string {
  return `o${keys.findIndex((key) => key.by === 'id')}`;
}

/**
 * A filter whose matching index rows are kept in _lastUpdated order: the references to a list of
 * targets (mergedPage), or a composite's quantities under one code (quantityPage).
 */
type MergeDriver = ReferenceFilter | CompartmentFilter | ListedChainFilter | CompositeFilter;

/**
 * The filter a page sorted by _lastUpdated alone is merged from, if any: a reference to named
 * targets (`patient=X`, every alternative a `Type/id` or id), a compartment of named owners, or,
 * when no filter names resources, a chain listed by one range (`subject:Patient.name=x`); or, as
 * the only filter, one code and one quantity comparison (`code=C&value-quantity=gtV`).
 */
function mergeDriver(query: SearchQuery): MergeDriver | undefined {
  const [first, ...more] = query.sort;
  if (query.pageSize === 0 || first?.by !== 'lastUpdated' || more.length > 0) return undefined;
  const named = namedFilter(query);
  if (named) return named;
  const [only, ...others] = query.filters;
  if (only?.kind === 'composite' && others.length === 0 && ledQuantity(only)) return only;
  return namesResources(query) ? undefined : query.filters.find(listedChain);
}

/** A filter naming the resources it references: every alternative a `Type/id` or id, or a compartment of named owners. */
function namedFilter(query: SearchQuery): ReferenceFilter | CompartmentFilter | undefined {
  return query.filters.find(
    (filter): filter is ReferenceFilter | CompartmentFilter =>
      (filter.kind === 'reference' && filter.anyOf.every((match) => match.match === 'target')) || (filter.kind === 'compartment' && filter.targetIds !== null),
  );
}

/**
 * The matches of a search that names resources and sorts on a parameter (`patient=X&code=C&_sort=-date`):
 * the resources referencing the named targets, driven like a filter that matches few. A generic
 * plan looked each up in `resources` before testing the other filters: at 1M a patient's 659
 * Observations cost three probes each where the code's probe alone rejects most.
 */
function namedMatches(query: SearchQuery, named: ReferenceFilter | CompartmentFilter, scope: Scope): string {
  const x = scope.alias('i');
  const references = [
    `${x}.partition_id = ${scope.partition}`, `${x}.resource_type = ${scope.resourceType}`, `${x}.param = s.param`, `${x}.target_id = s.target_id`,
    `(s.target_type IS NULL OR ${x}.target_type = s.target_type)`,
  ];
  // Distinct: a resource may reference two of the targets, or one twice.
  const candidates = `SELECT DISTINCT ${x}.resource_id AS id FROM (${namedTargets(named, scope)}) AS s JOIN search_reference ${x} ON ${references.join(' AND ')}`;
  return drivenMatches(candidates, query.filters.filter((filter) => filter !== named), scope);
}

/**
 * The live resources among `candidates` (a query of distinct ids, column `id`) that pass `others`:
 * each candidate is probed for them (fenced, in the query's order), and only the survivors are
 * then looked up in `resources` (LATERAL and fenced: a probe each, where a join would hash the
 * type's every resource for a handful of matches). A FROM clause: its rows are `r` (id, last_updated, created_at).
 */
function drivenMatches(candidates: string, others: SearchFilter[], scope: Scope): string {
  const each: Subject = { id: 'm.id', type: scope.resourceType, probe: 'each' };
  const tests = allOf(others.map((filter) => filterCondition(filter, scope, each)));
  const live = `SELECT r.id, r.last_updated, r.created_at FROM resources r WHERE ${[...resourceConditions(scope), 'r.id = m.id'].join(' AND ')} OFFSET 0`;
  return `(SELECT m.id FROM (${candidates}) AS m WHERE ${tests} OFFSET 0) AS m\nCROSS JOIN LATERAL (${live}) AS r`;
}

/** The ORDER BY of a page over its output columns o0, o1, … */
function outputOrder(keys: SortKey[]): string {
  return keys.map((key, i) => orderByTerm({ ...key, expr: `o${i}` })).join(', ');
}

/** The columns of an index row, of a table keeping resource_id and last_updated, that stand for the page's sort keys. */
function rowKeys(keys: SortKey[], x: string): SortKey[] {
  return keys.map((key) => ({ ...key, expr: key.by === 'id' ? `${x}.resource_id` : `${x}.last_updated` }));
}

/**
 * A page merged from ordered lists of references (migration 009). search_reference_lookup keeps
 * the references to one target in _lastUpdated order, so each target's first page-size
 * references that pass the other filters (each probed on its row) are read in order, and the
 * page is the first of them all: at most a page per target, however many resources reference it.
 * A resource that references two of the targets, or one target twice, comes once. A chain lists
 * its targets first, and with CHAIN_TARGET_LIMIT or more of them (`subject:Patient.gender=male`)
 * the page is scanned instead (scannedPage): its matches are dense, found among the first rows.
 * Below that, a chain's targets are read only up to a bound (chain_bound, below).
 */
function mergedPage(query: SearchQuery, driver: MergeDriver, keys: SortKey[], scope: Scope, ctes: string[]): string {
  if (driver.kind === 'composite') return quantityPage(query, driver, keys, scope, ctes);
  const limit = String(query.pageSize + 1);
  const x = scope.alias('i');
  const columns = rowKeys(keys, x);
  const keyset = resumeAfter(query, columns, scope);
  const subject: Subject = { id: `${x}.resource_id`, type: scope.resourceType, probe: 'each' };
  const others = query.filters.filter((filter) => filter !== driver).map((filter) => filterCondition(filter, scope, subject));
  /** A target's references (`s`) that pass the filters, in sort order, distinct. */
  const references = (extra: string[], rows: string) =>
    [
      `SELECT DISTINCT ${x}.last_updated, ${x}.resource_id FROM search_reference ${x}`,
      `WHERE ${[
        `${x}.partition_id = ${scope.partition}`, `${x}.resource_type = ${scope.resourceType}`, `${x}.param = s.param`, `${x}.target_id = s.target_id`,
        `(s.target_type IS NULL OR ${x}.target_type = s.target_type)`, ...keyset, ...others, ...extra,
      ].join(' AND ')}`,
      `ORDER BY ${columns.map(orderByTerm).join(', ')} ${rows}`,
    ].join('\n');
  const outputs = keys.map((key, i) => `m.${key.by === 'id' ? 'resource_id' : 'last_updated'} AS o${i}`).join(', ');
  const order = outputOrder(keys);
  const merged = (targets: string, extra: string[] = []) =>
    `SELECT DISTINCT ${outputs} FROM (${targets}) AS s CROSS JOIN LATERAL (\n${references(extra, `LIMIT ${limit}`)}) AS m\nORDER BY ${order} LIMIT ${limit}`;
  if (driver.kind !== 'chain') return merged(namedTargets(driver, scope));

  const [{ targetType, filter: target }] = driver.targets;
  const type = scope.bind(targetType, 'text');
  // One driver per statement, so one such list: fixed names.
  const listed = 'chain_targets';
  ctes.push(`${listed} AS MATERIALIZED (${matchingIds(target, scope, { id: '', type })} LIMIT ${CHAIN_TARGET_LIMIT})`);
  const few = `(SELECT count(*) FROM ${listed}) < ${CHAIN_TARGET_LIMIT}`;
  const scanned = scannedPage(query, keys, scope, ctes);
  if (scanned.direct) throw new RangeError('a chain drives a merge only when no filter names resources');
  const targets = `SELECT DISTINCT ${scope.bind(driver.param, 'text')} AS param, ${type} AS target_type, resource_id AS target_id FROM ${listed}`;
  // A chain's targets are many when the data holds many alike (a name on 22 patients at 1M, five at
  // 100k), and a page per target read them all. Each target's first reference comes first; the
  // target whose first comes first gives its page's last reference, T; every page row is at or
  // before T, so a target whose first comes after T is not read, and the others only up to T.
  const ascending = keys[0].direction === 'asc';
  const upToBound = (column: string) =>
    `${column} ${ascending ? '<=' : '>='} COALESCE((SELECT last_updated FROM chain_bound), '${ascending ? 'infinity' : '-infinity'}'::timestamptz)`;
  ctes.push(
    `chain_firsts AS MATERIALIZED (SELECT s.param, s.target_type, s.target_id, f.last_updated FROM (${targets}) AS s CROSS JOIN LATERAL (\n${references([], 'LIMIT 1')}) AS f)`,
    // T is the last of that target's page, when it fills one; else (null) there is no bound.
    `chain_bound AS MATERIALIZED (SELECT CASE WHEN count(*) > ${query.pageSize} THEN ${ascending ? 'max' : 'min'}(b.last_updated) END AS last_updated FROM (SELECT * FROM chain_firsts ORDER BY last_updated ${ascending ? 'ASC' : 'DESC'} LIMIT 1) AS s CROSS JOIN LATERAL (\n${references([], `LIMIT ${limit}`)}) AS b)`,
  );
  const bounded = merged(`SELECT param, target_type, target_id FROM chain_firsts WHERE ${upToBound('last_updated')}`, [upToBound(`${x}.last_updated`)]);
  return `SELECT * FROM (${bounded}) AS merged WHERE ${few}\nUNION ALL\nSELECT * FROM (${scanned.page}) AS scanned WHERE NOT ${few}`;
}

/**
 * A page of a composite's quantities under one code read in _lastUpdated order (migration 010),
 * each compared in its index entry, when the pair matches many: a common code with a low threshold
 * has 7,000 matches at a million resources, which the scanned page lists, counts and hashes before
 * it walks (3 of 4 ms), while the first few hundred of the code's entries hold the page. Counting
 * the pair's matches up to DENSE_QUANTITY_MATCHES first is cheap (one range, at most that many
 * entries); below it they are so few that the scanned page drives from them. The ordered read
 * stops after ORDERED_QUANTITY_ENTRIES_PER_ROW entries per page row: where the matches are many
 * but sparse among a long code's entries (a high threshold on a vital sign), the scanned page
 * answers instead, after a bounded waste. A resource coded in several systems has an entry per
 * coding: it comes once.
 */
function quantityPage(query: SearchQuery, filter: CompositeFilter, keys: SortKey[], scope: Scope, ctes: string[]): string {
  const led = ledQuantity(filter);
  if (!led) throw new RangeError('only a code and a quantity comparison are read in order');
  const scanned = scannedPage(query, keys, scope, ctes);
  if (scanned.direct) throw new RangeError('a composite drives an ordered page only when it is the only filter');
  const listed = scope.counts.length;
  const count = countMatches(filter, scope, rootSubject(scope), DENSE_QUANTITY_MATCHES);
  ctes.push(...scope.counts.slice(listed));
  const x = scope.alias('i');
  const columns = rowKeys(keys, x);
  const codeEntries = [
    `${x}.partition_id = ${scope.partition}`, `${x}.resource_type = ${scope.resourceType}`, `${x}.param = ${scope.bind(led.quantity.param, 'text')}`,
    leadConditions(led, x, scope), ...resumeAfter(query, columns, scope),
  ].join(' AND ');
  const order = columns.map(orderByTerm).join(', ');
  const budget = ORDERED_QUANTITY_ENTRIES_PER_ROW * (query.pageSize + 1);
  const outputs = columns.map((key, i) => `${key.expr} AS o${i}`).join(', ');
  const read = `SELECT ${outputs}, ${rowMatch(led.quantity, x, scope)} AS passes FROM search_quantity ${x} WHERE ${codeEntries} ORDER BY ${order} LIMIT ${budget}`;
  // One such read per statement: a fixed name.
  ctes.push(`ordered_quantities AS MATERIALIZED (SELECT DISTINCT ${keys.map((_, i) => `o${i}`).join(', ')} FROM (${read}) AS e WHERE passes ORDER BY ${outputOrder(keys)} LIMIT ${query.pageSize + 1})`);
  // The read is the page when it filled the page, or when the code has no more entries than it read.
  const complete = `(SELECT count(*) FROM ordered_quantities) > ${query.pageSize} OR (SELECT count(*) FROM (SELECT 1 FROM search_quantity ${x} WHERE ${codeEntries} LIMIT ${budget}) AS e) < ${budget}`;
  ctes.push(`ordered_choice AS MATERIALIZED (SELECT CASE WHEN ${few(count)} THEN FALSE ELSE ${complete} END AS chosen)`);
  const ordered = '(SELECT chosen FROM ordered_choice)';
  return `SELECT * FROM ordered_quantities WHERE ${ordered}\nUNION ALL\nSELECT * FROM (${scanned.page}) AS scanned WHERE NOT ${ordered}`;
}

/** Below this many matches a code and a quantity comparison drive a scanned page; from it on, the page is read in order (quantityPage). */
const DENSE_QUANTITY_MATCHES = 200;

/**
 * Index entries the ordered read of a code's quantities reads per page row before it leaves the
 * page to the scanned search: 1,050 for a page of 20, about 0.2 ms at a million resources.
 */
const ORDERED_QUANTITY_ENTRIES_PER_ROW = 50;

/** The (param, target_type, target_id) of each target a reference or compartment filter names; a null type is any type. */
function namedTargets(filter: ReferenceFilter | CompartmentFilter, scope: Scope): string {
  const targets = filter.kind === 'reference'
    ? filter.anyOf.flatMap((match) => (match.match === 'target' ? [{ param: filter.param, type: match.targetType ?? null, id: match.targetId }] : []))
    : filter.params.flatMap((param) => (filter.targetIds ?? []).map((id) => ({ param, type: filter.targetType, id })));
  // One target (`patient=X`, the usual case) as one row of values: PostgreSQL then reads its
  // references with one index scan, where unnest() adds a function scan and three arrays to parse.
  if (targets.length === 1) {
    const [{ param, type, id }] = targets;
    return `SELECT ${scope.bind(param, 'text')} AS param, ${scope.bind(type, 'text')} AS target_type, ${scope.bind(id, 'text')} AS target_id`;
  }
  const column = (pick: (target: (typeof targets)[number]) => string | null) => scope.bind(targets.map(pick), 'text[]');
  return `SELECT * FROM unnest(${column((t) => t.param)}, ${column((t) => t.type)}, ${column((t) => t.id)}) AS s(param, target_type, target_id)`;
}

/** The (type, id) keys the first `pageSize` matches reference through any of `includes`. */
function referencedKeys(includes: ReferenceInclude[], pageSize: number, scope: Scope): string {
  const x = scope.alias('i');
  const through = anyOf(includes.map((include) => allOf([
    ...(include.params === null ? [] : [`${x}.param = ANY(${scope.bind(include.params, 'text[]')})`]),
    ...(include.targetType === null ? [] : [`${x}.target_type = ${scope.bind(include.targetType, 'text')}`]),
  ])));
  return (
    `SELECT ${x}.target_type, ${x}.target_id FROM search_reference ${x} WHERE ${x}.partition_id = ${scope.partition} AND ${x}.resource_type = ${scope.resourceType}` +
    ` AND ${x}.resource_id IN (SELECT id FROM matches WHERE position <= ${pageSize}) AND ${through} AND ${x}.target_type IS NOT NULL AND ${x}.target_id IS NOT NULL`
  );
}

/**
 * Whether to walk first: read the type's live resources in sort order from the index, up to a
 * budget, testing the filters on each, before asking the planner for the whole search. When many
 * resources match (a common code, a chain to a common name) this finds the page after a few hundred
 * index probes, where joining every match and sorting them costs one probe per match; PostgreSQL
 * cannot choose it by itself because it multiplies the selectivities of correlated filters (code
 * and value, say) and so underestimates such matches by orders of magnitude. It needs a sort that
 * an index walks (the resource columns in one direction, or indexedSort), and it is skipped when a
 * filter names particular resources (a reference, `_id`, a compartment): those match few.
 */
function walkable(query: SearchQuery): boolean {
  const direction = query.sort[0]?.direction;
  const onResources = query.sort.every((spec) => spec.by !== 'param' && spec.direction === direction);
  return query.pageSize > 0 && query.filters.length > 0 && (onResources || indexedSort(query) !== undefined) && !namesResources(query);
}

/** Whether one of the query's filters names particular resources (a reference, `_id`, a compartment): those match few. */
function namesResources(query: SearchQuery): boolean {
  return query.filters.some((filter) => filter.kind === 'reference' || filter.kind === 'id' || filter.kind === 'compartment');
}

/**
 * Rows the walk reads. Where every filter is probed (an index probe per row, a few microseconds)
 * it is enough to fill the page when one resource in two hundred matches, so a fruitless walk
 * costs milliseconds before the planned search takes over. Where a filter is hashed, a row that
 * fails it costs a hash lookup (a fraction of a microsecond) and only the rows that pass it are
 * probed, so the walk goes on far longer for the same cost.
 */
function walkBudget(pageSize: number, filters: 'probed' | 'hashed'): number {
  return filters === 'probed' ? Math.min(10_000, 200 * (pageSize + 1)) : Math.min(50_000, 1500 * (pageSize + 1));
}

/** A count made by a hashable walk filter (adaptiveCondition, hoistsHash), named by its CTE. */
interface WalkCount { name: string; filter: SearchFilter }

/**
 * The walk's LIMIT. A filter counted as matching few would also drive the search after the walk
 * (drivesSearch): a probe of the other filters per match, some multiple of a walked row's cost
 * (WALK_ROWS_PER_MATCH). So the walk stops after that many rows per match: it still finds a page
 * where the others pass often, and where they rarely pass it costs no more than the driven search
 * it leaves the page to. A code on 300 Observations is walked by last update for 3,000 rows, not
 * 31,500. With no more matches than the page holds (pageSize + 1 rows) the walk cannot fill it, so
 * it reads nothing: a name shared by two patients goes straight to the driven search.
 */
function walkLimit(counts: WalkCount[], pageSize: number, walked: keyof typeof WALK_ROWS_PER_MATCH): string {
  const probed = String(walkBudget(pageSize, 'probed'));
  if (counts.length === 0) return probed;
  const hashed = walkBudget(pageSize, 'hashed');
  const rows = (name: string) => `${WALK_ROWS_PER_MATCH[walked]} * (SELECT matches FROM ${name})`;
  const perMatch = (name: string) =>
    `(CASE WHEN (SELECT matches FROM ${name}) <= ${pageSize + 1} THEN 0 ELSE ${walked === 'resources' ? `LEAST(${hashed}, ${rows(name)})` : rows(name)} END)`;
  const cases = [
    ...counts.filter(({ filter }) => drivesSearch(filter)).map(({ name }) => `WHEN ${few(name)} THEN ${perMatch(name)}`),
    ...counts.filter(({ filter }) => !drivesSearch(filter)).map(({ name }) => `WHEN ${few(name)} THEN ${hashed}`),
  ];
  return `(CASE ${cases.join(' ')} ELSE ${probed} END)`;
}

/**
 * Rows a walk reads per match of a filter that would drive the search after it (see walkLimit), by
 * what it walks. At 1M: a walked row of `resources` costs about 0.4 µs where the driven search's
 * probe of a match costs 4; a walked row of the sort index about 0.6 µs, where a match costs two
 * probes (the live resource, then its sort row from the heap): 35–40 µs. Its walk is bounded by
 * HASH_LIMIT matches (fewer are hashed), not by the hashed budget: `code=8302-2&_sort=-value-quantity`
 * (7,433 matches, whose values lie below most others) walked 31,500 rows in vain and then sorted
 * its matches in 270 ms; walking on, it meets them in 50 ms (docs/search.md).
 */
const WALK_ROWS_PER_MATCH = { resources: 10, sortIndex: 50 } as const;

/** Whether a filter's matches, when few, can be listed to drive a search: a hashable one, not negated. */
function drivesSearch(filter: SearchFilter): filter is ListedFilter {
  return listed(filter) && !negated(filter);
}

/** A filter matching fewer resources than this is hashed by the walk; more, and it is probed. */
const HASH_LIMIT = 10_000;

/**
 * Whether a walk tests a listed filter on its subject adaptively (adaptiveCondition): negated
 * only where the subject's row is in hand (a negation must not match a reference to nothing).
 */
function adaptiveOn(filter: ListedFilter, subject: Subject): boolean {
  return subject.probe === 'adaptive' && (subject.row !== undefined || !negated(filter));
}

/** A `:not` token filter: it keeps the resources without a matching row, so its listed matches are the ones it excludes. */
function negated(filter: SearchFilter): boolean {
  return filter.kind === 'token' && filter.negate;
}

/**
 * A filter tested on each row a walk reads, in sort order, so that the walk stops as soon as the
 * page is full. A probe (`probeFence`) costs an index descent per row and nothing up front. A hash
 * of the filter's matches costs a fraction of a microsecond per row, but must list every match
 * first: 130,000 Observations for status=final at 1M, 60 ms before the first row. So the filter
 * first lists and counts its matches up to a limit (countMatches: at most that many index entries,
 * once per statement) and is hashed from that list below it, probed above it: the statistic a
 * generic plan cannot use, gathered at run time. Each branch sits behind an OR, where PostgreSQL neither flattens the
 * subquery into a join (which would lose the walk's order) nor evaluates the branch it skips.
 */
function adaptiveCondition(filter: ListedFilter, scope: Scope, subject: Subject): string {
  const count = countMatches(filter, scope, subject);
  const not = negated(filter) ? 'NOT ' : '';
  const probed =
    filter.kind === 'composite' ? filterCondition(filter, scope, { ...subject, probe: 'each' })
    : filter.kind === 'chain' ? chainCondition(filter, scope, subject)
    : `${not}${indexCondition(filter, scope, subject)}`;
  return `((NOT ${few(count)} OR ${not}${subject.id} IN (${counted(count)})) AND (${few(count)} OR ${probed}))`;
}

/**
 * Lists the filter's matches up to `limit` (a CTE `h<n>_ids`) and counts them (`h<n>`: whether
 * they are fewer than `limit`, and how many), once per statement; returns the count's name. When
 * they are few, the list holds them all, and the walk's hash and the driven search read it
 * instead of listing them again from the index. A chain is listed only when its targets are few
 * (CHAIN_TARGET_LIMIT), and only up to CHAIN_HASH_LIMIT references.
 */
function countMatches(filter: ListedFilter, scope: Scope, subject: Subject, limit = filter.kind === 'chain' ? CHAIN_HASH_LIMIT : HASH_LIMIT): string {
  const targetsFew = filter.kind === 'chain' ? [chainTargetsFew(filter, scope)] : [];
  const listing = [matchingIds(filter, scope, subject), ...targetsFew].join(' AND ');
  return scope.addCount(`${listing} LIMIT ${limit}`, allOf([`count(*) < ${limit}`, ...targetsFew]));
}

/** The matches listed by a count (countMatches), complete when it found them few. */
function counted(name: string): string {
  return `SELECT resource_id FROM ${name}_ids`;
}

/**
 * A chain with more targets than this is probed, not listed (countMatches): listing hashes every
 * target first, and a chain to many (`subject:Patient.gender=female`) is dense, its page found
 * within the walk's first rows.
 */
const CHAIN_TARGET_LIMIT = 100;

/**
 * A chain is hashed below this many references, probed above. A listed reference costs about a
 * seventh of a walked row's probe (a descent per target, the list, its count and the hash: 0.75
 * against 5 µs at 1M), and past a few thousand references the walk finds a page in fewer probes
 * than the listing costs: at 1M, limits of 1,500, 3,000, 5,000, 10,000 and 30,000 gave p95s of
 * 13.5–14, 10.8–11.5, 11.6, 14.1–14.3 and 15.5–16 ms over the bench's sampled names, against 12.3
 * unlisted (docs/search.md).
 */
const CHAIN_HASH_LIMIT = 3_000;

/** Whether the chain's one target filter matches fewer than CHAIN_TARGET_LIMIT resources (an uncorrelated subquery, run once). */
function chainTargetsFew(filter: ListedChainFilter, scope: Scope): string {
  const [{ targetType, filter: target }] = filter.targets;
  const targets = matchingIds(target, scope, { id: '', type: scope.bind(targetType, 'text') });
  return `(SELECT count(*) FROM (${targets} LIMIT ${CHAIN_TARGET_LIMIT}) AS t) < ${CHAIN_TARGET_LIMIT}`;
}

/**
 * Below this many inner matches a walked `_has` hashes their targets (see hoistsHash). Listing the
 * targets costs an index probe per inner match (about 6 µs at 1M); testing a row in the walk costs
 * a read of all its references of that kind (a patient's hundreds of Observations, about 30 µs).
 * A rare inner code then costs well under a millisecond instead of a long walk (86 Observations
 * at 1M: 0.5 against 14 ms), while a code on thousands of Observations fills the page from the
 * first rows it walks without listing anything.
 */
const TARGET_HASH_LIMIT = 200;

/**
 * A `_has` whose inner filter a walk can count (one code, string or uri, not negated). With fewer
 * than TARGET_HASH_LIMIT inner matches the walk hashes their targets and looks each row up there;
 * with more it tests the row itself, the inner filter adaptive as anywhere else.
 */
function hoistsHash(filter: SearchFilter, subject: Subject): filter is ReverseChainFilter & { filter: ListedFilter } {
  return filter.kind === 'has' && subject.probe === 'adaptive' && drivesSearch(filter.filter);
}

/**
 * A `_has` on one code of its source type's `code` parameter (`_has:Observation:patient:code=X`,
 * with or without the code's system): search_coded_reference (migration 011) keeps the code's
 * references as one index range, ordered by target.
 */
type CodedReverseChain = ReverseChainFilter & { filter: TokenFilter };

function codedReverseChain(filter: ReverseChainFilter): filter is CodedReverseChain {
  const inner = filter.filter;
  return inner.kind === 'token' && inner.param === 'code' && drivesSearch(inner) && inner.anyOf[0].match === 'code';
}

/**
 * A subject is tested by one probe of its id in the code's range (about 6 µs at 1M). A walk first
 * lists the range's targets up to CODED_HASH_LIMIT entries and, below that, hashes them, so that
 * a rare code does not walk every patient.
 */
function codedReferenceCondition(filter: CodedReverseChain, scope: Scope, subject: Subject): string {
  const references = (x: string) =>
    `FROM search_coded_reference ${x} WHERE ${x}.partition_id = ${scope.partition} AND ${x}.resource_type = ${scope.bind(filter.sourceType, 'text')}` +
    ` AND ${x}.param = ${scope.bind(filter.param, 'text')} AND ${rowMatch(filter.filter, x, scope)} AND ${x}.target_type = ${subject.type}`;
  const x = scope.alias('i');
  const probed = `EXISTS (SELECT 1 ${references(x)} AND ${x}.target_id = ${subject.id}${probeFence(subject)})`;
  if (subject.probe !== 'adaptive') return probed;
  // The walk hashes the ids it tests, here the targets: listed as the count's resource_id.
  const y = scope.alias('i');
  const count = scope.addCount(`SELECT ${y}.target_id AS resource_id ${references(y)} LIMIT ${CODED_HASH_LIMIT}`, `count(*) < ${CODED_HASH_LIMIT}`);
  return `((NOT ${few(count)} OR ${subject.id} IN (${counted(count)})) AND (${few(count)} OR ${probed}))`;
}

/**
 * Coded references a walk lists and hashes, at most (codedReferenceCondition). Listing costs about
 * 1 µs an entry, counted; a code above the limit pays it for nothing, and a probe is cheap enough
 * that a walk of a few hundred rows costs no more. Over the bench's 200 sampled codes (SQL alone,
 * p95 at 100k and 1M, two runs each), 200 gave 1.8–2.1 and 2.2–2.6 ms, 1,000 gave 1.9–3.4 and
 * 2.6–4.0 ms, 2,000 gave 3.5 and 3.6 ms at 1M.
 */
const CODED_HASH_LIMIT = 200;

/** The value of a count CTE made by countMatches. */
function few(name: string): string {
  return `(SELECT few FROM ${name})`;
}

/** A filter whose matches a lookup index lists as one range (listedByRange). */
type RangeFilter = TokenFilter | StringFilter | UriFilter | CompositeFilter;

/** A chain to one target type whose filter is listed by one range (listedChain). */
type ListedChainFilter = ChainFilter & { targets: [{ targetType: string; filter: RangeFilter }] };

/** A filter whose matches the lookup indexes list, so that the walk can count and hash them (listed). */
type ListedFilter = RangeFilter | ListedChainFilter;

/** Whether the lookup indexes list the filter's matches: as one range, or as a chain's references to such a range's matches. */
function listed(filter: SearchFilter): filter is ListedFilter {
  return listedByRange(filter) || listedChain(filter);
}

/**
 * A chain to one target type whose filter is one range, not negated (`subject:Patient.name=x`):
 * search_reference_lookup lists the references to each of that range's matches. Longer chains
 * are probed link by link.
 */
function listedChain(filter: SearchFilter): filter is ListedChainFilter {
  if (filter.kind !== 'chain' || filter.targets.length !== 1) return false;
  const [{ filter: target }] = filter.targets;
  return listedByRange(target) && !negated(target);
}

/**
 * Whether a lookup index lists the filter's matches as one range, so that counting them reads no
 * more entries than it counts: one code (search_token_lookup), one string prefix or exact string,
 * one uri, one code and quantity of a composite (search_quantity_by_lead). A value range of a
 * quantity without a unit, or a `:contains`, scans the whole parameter.
 */
function listedByRange(filter: SearchFilter): filter is RangeFilter {
  switch (filter.kind) {
    case 'token': return filter.anyOf.length === 1 && (filter.anyOf[0].match === 'ofType' || (filter.anyOf[0].match === 'code' && filter.anyOf[0].code !== undefined));
    case 'string': return filter.anyOf.length === 1 && filter.anyOf[0].mode !== 'contains';
    case 'uri': return filter.anyOf.length === 1 && filter.anyOf[0].match === 'equals';
    case 'composite': return ledQuantity(filter) !== undefined;
    default: return false;
  }
}

/**
 * A composite filter of one alternative whose parts are one code (with or without its system, not
 * negated) and one quantity comparison: its quantity part rows carry that code as their lead
 * (migration 008), so search_quantity_by_lead lists its matches, code first, then value.
 */
function ledQuantity(filter: CompositeFilter): { code: string; system?: string; quantity: QuantityFilter } | undefined {
  const [lead, quantity, ...more] = filter.anyOf.length === 1 ? filter.anyOf[0] : [];
  if (more.length > 0 || lead?.kind !== 'token' || quantity?.kind !== 'quantity' || lead.negate || lead.anyOf.length !== 1 || quantity.anyOf.length !== 1) return undefined;
  const match = lead.anyOf[0];
  if (match.match !== 'code' || match.code === undefined) return undefined;
  return { code: match.code, ...(match.system !== undefined ? { system: match.system } : {}), quantity };
}

/** The quantity part rows (alias `x`) led by the composite's code, and its system when given. */
function leadConditions(led: NonNullable<ReturnType<typeof ledQuantity>>, x: string, scope: Scope): string {
  return [`${x}.lead_code = ${scope.bind(led.code, 'text')}`, ...(led.system !== undefined ? [`${x}.lead_system = ${scope.bind(led.system, 'text')}`] : [])].join(' AND ');
}

/** The ids of the resources of the subject's type whose rows match `filter` (negations aside). */
function matchingIds(filter: IndexFilter | CompositeFilter | ListedChainFilter, scope: Scope, subject: Subject): string {
  const x = scope.alias('i');
  const rows = (table: IndexTable, param: string) =>
    `SELECT ${x}.resource_id FROM ${table} ${x} WHERE ${x}.partition_id = ${scope.partition}` +
    ` AND ${x}.resource_type = ${subject.type} AND ${x}.param = ${scope.bind(param, 'text')}`;
  if (filter.kind === 'chain') {
    const [{ targetType, filter: target }] = filter.targets;
    const type = scope.bind(targetType, 'text');
    return `${rows('search_reference', filter.param)} AND ${x}.target_type = ${type} AND ${x}.target_id IN (${matchingIds(target, scope, { id: '', type })})`;
  }
  if (filter.kind !== 'composite') return `${rows(INDEX_TABLE_OF[filter.kind], filter.param)} AND ${rowMatch(filter, x, scope)}`;
  const led = ledQuantity(filter);
  if (!led) throw new RangeError('this composite filter is not listed by one range');
  return `${rows('search_quantity', led.quantity.param)} AND ${leadConditions(led, x, scope)} AND ${rowMatch(led.quantity, x, scope)}`;
}

/** Counts the matches (ignoring sort and page), stopping at `limit` (null: counts them all). */
export function compileCount(query: SearchQuery, partitionId: number, limit: number | null = TOTAL_THRESHOLD + 1): SqlQuery {
  const { text: matches, values } = compileMatches(query, partitionId);
  if (limit !== null && !Number.isInteger(limit)) throw new RangeError('limit must be an integer');
  const bounded = limit === null ? [] : [`LIMIT ${limit}`];
  return { text: ['SELECT count(*)::integer AS total FROM (', matches, ...bounded, ') AS matches'].join('\n'), values };
}

/** `SELECT 1` per match, unordered: the statement counted by compileCount and estimated by EXPLAIN. */
export function compileMatches(query: SearchQuery, partitionId: number): SqlQuery {
  const scope = new Scope(partitionId, query.resourceType);
  const conditions = [...resourceConditions(scope), ...query.filters.map((filter) => filterCondition(filter, scope, rootSubject(scope)))];
  return { text: `SELECT 1 FROM resources r\nWHERE ${conditions.join(' AND ')}`, values: scope.values };
}

/** Bound values and table aliases of one statement. Partition and type are bound once and reused. */
class Scope {
  readonly values: unknown[] = [];
  readonly partition: string;
  readonly resourceType: string;
  /** The count CTEs of adaptive walk filters (countMatches): `h0_ids AS (…), h0 AS (…)`, `h1_ids AS (…), h1 AS (…)`, … */
  readonly counts: string[] = [];
  private countsMade = 0;
  private aliases = 0;

  constructor(partitionId: number, resourceType: string) {
    this.partition = this.bind(partitionId, 'integer');
    this.resourceType = this.bind(resourceType, 'text');
  }

  /** Binds a value and returns its placeholder; `cast` is one of this file's constant type names. */
  bind(value: unknown, cast: SqlType): string {
    this.values.push(value);
    return `$${this.values.length}::${cast}`;
  }

  /** Binds `derive(value)`; for a shape's placeholder, the derivation itself (src/store/search-shape.ts). */
  derived(value: string, derive: (value: string) => string, cast: SqlType): string {
    return this.bind(isPlaceholder(value) ? ({ source: value, derive } satisfies Derived) : derive(value), cast);
  }

  /** The name the next count CTE will get. */
  nextCountName(): string {
    return `h${this.countsMade}`;
  }

  /**
   * Adds a list CTE (`listing`, a bounded query of resource_id) and its count (one row: `few`, the
   * condition `fewer` on the list's count(*), and the `matches` listed); returns the count's name.
   */
  addCount(listing: string, fewer: string): string {
    const name = this.nextCountName();
    this.countsMade += 1;
    this.counts.push(`${name}_ids AS MATERIALIZED (${listing})`, `${name} AS MATERIALIZED (SELECT ${fewer} AS few, count(*) AS matches FROM ${name}_ids)`);
    return name;
  }

  alias(prefix: 'i' | 's' | 't'): string {
    this.aliases += 1;
    return `${prefix}${this.aliases}`;
  }
}

export type SqlType = 'integer' | 'text' | 'text[]' | 'numeric' | 'timestamptz';

/**
 * The resource a filter is about: expressions for its id and (bound) type, and the alias of its
 * `resources` row when one is in the query. The searched resource is `r`; the target of a chain
 * and the source of a `_has` are known by their search_reference row only. A `probe` subject is
 * tested one row at a time (see `probeFence`), and so are the resources its chains and `_has`
 * reach from it: each step follows the references of the row in hand. An `adaptive` one is a
 * walk's row, whose hashable filters count their matches first (adaptiveCondition); `each` probes
 * every filter.
 */
interface Subject { id: string; type: string; row?: string; probe?: 'adaptive' | 'each' }

function rootSubject(scope: Scope): Subject {
  return { id: 'r.id', type: scope.resourceType, row: 'r' };
}

/**
 * Ends a filter's subquery on a probe subject. `OFFSET 0` keeps PostgreSQL from turning the EXISTS
 * into a join or a hashed subplan, both of which list everything the filter matches (every
 * Observation of the patients a chain names) before the walk's first row; as a plain subplan it is
 * an index probe per row read, and the walk stops once its page is full.
 */
function probeFence(subject: Subject): string {
  return subject.probe ? ' OFFSET 0' : '';
}

function resourceConditions(scope: Scope): string[] {
  return [`r.partition_id = ${scope.partition}`, `r.resource_type = ${scope.resourceType}`, 'NOT r.deleted'];
}

function assertPageSize(pageSize: number): void {
  if (!Number.isInteger(pageSize) || pageSize < 0) throw new RangeError('pageSize must be a non-negative integer');
}

// ---------------------------------------------------------------------------------------------
// Filters

type IndexTable = 'search_token' | 'search_string' | 'search_reference' | 'search_uri' | 'search_date' | 'search_number' | 'search_quantity';

function filterCondition(filter: SearchFilter, scope: Scope, subject: Subject): string {
  // A negation on a resource known by reference only must also find that resource (withRow).
  if (listed(filter) && adaptiveOn(filter, subject)) return adaptiveCondition(filter, scope, subject);
  switch (filter.kind) {
    case 'token':
      if (filter.negate) return withRow(subject, scope, (row) => `NOT ${indexCondition(filter, scope, { ...subject, id: `${row}.id` })}`);
      return indexCondition(filter, scope, subject);
    case 'string':
    case 'reference':
    case 'uri':
    case 'date':
    case 'number':
    case 'quantity':
      return indexCondition(filter, scope, subject);
    case 'id':
      return `${subject.id} = ANY(${scope.bind(filter.anyOf, 'text[]')})`;
    case 'lastUpdated':
      // An instant is a range of zero width: low = high = the instant.
      return withRow(subject, scope, (row) => anyOf(filter.anyOf.map((m) => dateRangeMatch(`${row}.last_updated`, `${row}.last_updated`, m, scope))));
    case 'missing':
      return withRow(subject, scope, (row) => {
        const present = `${scope.bind(filter.param, 'text')} = ANY(${row}.index_params)`;
        return filter.missing ? `NOT (${present})` : present;
      });
    case 'composite':
      return anyOf(filter.anyOf.map((parts) => compositeMatch(parts, scope, subject)));
    case 'chain':
      return chainCondition(filter, scope, subject);
    case 'has': {
      if (codedReverseChain(filter)) return codedReferenceCondition(filter, scope, subject);
      const sourceType = scope.bind(filter.sourceType, 'text');
      const param = scope.bind(filter.param, 'text');
      const references = (x: string) =>
        `FROM search_reference ${x} WHERE ${x}.partition_id = ${scope.partition} AND ${x}.resource_type = ${sourceType}` +
        ` AND ${x}.param = ${param} AND ${x}.target_type = ${subject.type}`;
      const source = (x: string) => ({ id: `${x}.resource_id`, type: sourceType, probe: subject.probe });
      if (!hoistsHash(filter, subject)) {
        const x = scope.alias('i');
        return `EXISTS (SELECT 1 ${references(x)} AND ${x}.target_id = ${subject.id} AND ${filterCondition(filter.filter, scope, source(x))}${probeFence(subject)})`;
      }
      // The count comes first: the walk's budget reads it by name (compileSearch, nextCountName).
      const [x, y] = [scope.alias('i'), scope.alias('i')];
      const count = countMatches(filter.filter, scope, source(x), TARGET_HASH_LIMIT);
      const rare = few(count);
      const targets = `SELECT ${x}.target_id ${references(x)} AND ${x}.resource_id IN (${counted(count)})`;
      const tested = `EXISTS (SELECT 1 ${references(y)} AND ${y}.target_id = ${subject.id} AND ${filterCondition(filter.filter, scope, source(y))}${probeFence(subject)})`;
      return `((NOT ${rare} OR ${subject.id} IN (${targets})) AND (${rare} OR ${tested}))`;
    }
    case 'compartment': {
      const x = scope.alias('i');
      const owners = filter.targetIds === null ? '' : ` AND ${x}.target_id = ANY(${scope.bind(filter.targetIds, 'text[]')})`;
      return (
        `EXISTS (SELECT 1 FROM search_reference ${x} WHERE ${x}.partition_id = ${scope.partition} AND ${x}.resource_type = ${subject.type}` +
        ` AND ${x}.param = ANY(${scope.bind(filter.params, 'text[]')}) AND ${x}.resource_id = ${subject.id}` +
        ` AND ${x}.target_type = ${scope.bind(filter.targetType, 'text')}${owners}${probeFence(subject)})`
      );
    }
  }
}

/** A reference of the chain's parameter to a target that passes that target type's filter, followed from the subject. */
function chainCondition(filter: ChainFilter, scope: Scope, subject: Subject): string {
  return indexExists('search_reference', filter.param, scope, subject, (x) =>
    anyOf(filter.targets.map((target) => {
      const targetType = scope.bind(target.targetType, 'text');
      return `(${x}.target_type = ${targetType} AND ${filterCondition(target.filter, scope, { id: `${x}.target_id`, type: targetType, probe: subject.probe })})`;
    })),
  );
}

/**
 * `condition(row)` on the subject's live `resources` row, joined when the subject has none. Index
 * rows exist only for live resources, so index filters need no join; the filters on resource
 * columns, and negations (which must not match a reference to nothing), do.
 */
function withRow(subject: Subject, scope: Scope, condition: (row: string) => string): string {
  if (subject.row) return condition(subject.row);
  const t = scope.alias('t');
  return (
    `EXISTS (SELECT 1 FROM resources ${t} WHERE ${t}.partition_id = ${scope.partition} AND ${t}.resource_type = ${subject.type}` +
    ` AND ${t}.id = ${subject.id} AND NOT ${t}.deleted AND ${condition(t)}${probeFence(subject)})`
  );
}

const INDEX_TABLE_OF: Record<IndexFilter['kind'], IndexTable> = {
  token: 'search_token',
  string: 'search_string',
  reference: 'search_reference',
  uri: 'search_uri',
  date: 'search_date',
  number: 'search_number',
  quantity: 'search_quantity',
};

/** `EXISTS` a row of the filter's table (for the subject and parameter) matching one of its alternatives, and `extra`. */
function indexCondition(filter: IndexFilter, scope: Scope, subject: Subject, extra?: (alias: string) => string): string {
  return indexExists(INDEX_TABLE_OF[filter.kind], filter.param, scope, subject, (x) => {
    const match = rowMatch(filter, x, scope);
    return extra ? `${extra(x)} AND ${match}` : match;
  });
}

function rowMatch(filter: IndexFilter, x: string, scope: Scope): string {
  switch (filter.kind) {
    case 'token':
      return anyOf(filter.anyOf.map((m) => tokenMatch(x, m, scope)));
    case 'string':
      return anyOf(filter.anyOf.map((m) => stringMatch(x, m, scope)));
    case 'reference':
      return anyOf(filter.anyOf.map((m) => referenceMatch(x, m, scope)));
    case 'uri':
      return anyOf(filter.anyOf.map((m) => uriMatch(x, m, scope)));
    case 'date':
      return anyOf(filter.anyOf.map((m) => dateRangeMatch(`${x}.low`, `${x}.high`, m, scope)));
    case 'number':
      return anyOf(filter.anyOf.map((m) => numberMatch({ value: `${x}.value`, low: `${x}.low`, high: `${x}.high` }, m, scope)));
    case 'quantity':
      return anyOf(filter.anyOf.map((m) => quantityMatch(x, m, scope)));
  }
}

/** Every part matches a row of one group: the first part's row fixes `grp`, the others must share it. */
function compositeMatch(parts: IndexFilter[], scope: Scope, subject: Subject): string {
  const [first, ...rest] = parts;
  if (!first) return 'FALSE';
  return indexCondition(first, scope, subject, (x) =>
    allOf([`${x}.grp > 0`, ...rest.map((part) => indexCondition(part, scope, subject, (y) => `${y}.grp = ${x}.grp`))]),
  );
}

/** `EXISTS` one row of `table` for the subject and parameter that satisfies `match(alias)`. */
function indexExists(table: IndexTable, param: string, scope: Scope, subject: Subject, match: (alias: string) => string): string {
  const x = scope.alias('i');
  return (
    `EXISTS (SELECT 1 FROM ${table} ${x} WHERE ${x}.partition_id = ${scope.partition} AND ${x}.resource_type = ${subject.type}` +
    ` AND ${x}.param = ${scope.bind(param, 'text')} AND ${x}.resource_id = ${subject.id} AND ${match(x)}${probeFence(subject)})`
  );
}

function anyOf(conditions: string[]): string {
  if (conditions.length === 0) return 'FALSE';
  return conditions.length === 1 ? conditions[0] : `(${conditions.join(' OR ')})`;
}

function allOf(conditions: string[]): string {
  if (conditions.length === 0) return 'TRUE';
  return conditions.length === 1 ? conditions[0] : `(${conditions.join(' AND ')})`;
}

function tokenMatch(x: string, match: TokenMatch, scope: Scope): string {
  if (match.match === 'text') return `${x}.display COLLATE "C" LIKE ${scope.derived(match.text, prefixPattern, 'text')}`;
  if (match.match === 'ofType') {
    return `(${x}.code = ${scope.bind(match.value, 'text')} AND ${x}.type_system = ${scope.bind(match.typeSystem, 'text')} AND ${x}.type_code = ${scope.bind(match.typeCode, 'text')})`;
  }
  const conditions: string[] = [];
  if (match.code !== undefined) conditions.push(`${x}.code = ${scope.bind(match.code, 'text')}`);
  if (match.system !== undefined) conditions.push(`${x}.system = ${scope.bind(match.system, 'text')}`);
  return allOf(conditions);
}

function stringMatch(x: string, match: StringMatch, scope: Scope): string {
  // The normalised value first, for search_string_lookup; then the text as written.
  if (match.mode === 'exact') return `(${x}.value COLLATE "C" = ${scope.bind(match.value, 'text')} AND ${x}.raw = ${scope.bind(match.raw, 'text')})`;
  const like = `${x}.value COLLATE "C" LIKE ${scope.derived(match.value, match.mode === 'prefix' ? prefixPattern : containsPattern, 'text')}`;
  if (match.mode === 'contains' || match.value === '') return like;
  // A prefix is also a range of the C-ordered values, which is what search_string_lookup can
  // read: a generic plan cannot derive one from a LIKE pattern that is a parameter. (A shape's
  // placeholder stands for a prefix that has an upper bound: see search-shape.ts.)
  const bounded = isPlaceholder(match.value) || prefixUpperBound(match.value) !== undefined;
  const range = [`${x}.value COLLATE "C" >= ${scope.bind(match.value, 'text')}`, ...(bounded ? [`${x}.value COLLATE "C" < ${scope.derived(match.value, upperBound, 'text')}`] : [])];
  return allOf([...range, like]);
}

const prefixPattern = (value: string) => likePattern(value, 'prefix');
const containsPattern = (value: string) => likePattern(value, 'contains');
const upperBound = (prefix: string) => prefixUpperBound(prefix)!;

/** A LIKE pattern matching `value` literally: its own % and _ must not act as wildcards. */
function likePattern(value: string, mode: 'prefix' | 'contains'): string {
  const literal = value.replace(/[\\%_]/g, (c) => `\\${c}`);
  return mode === 'prefix' ? `${literal}%` : `%${literal}%`;
}

function uriMatch(x: string, match: UriMatch, scope: Scope): string {
  if (match.match === 'equals') {
    return match.values.length === 1 ? `${x}.value = ${scope.bind(match.values[0], 'text')}` : `${x}.value = ANY(${scope.bind(match.values, 'text[]')})`;
  }
  const under = match.value.endsWith('/') ? match.value : `${match.value}/`;
  return `(${x}.value = ${scope.bind(match.value, 'text')} OR ${x}.value LIKE ${scope.bind(likePattern(under, 'prefix'), 'text')})`;
}

function referenceMatch(x: string, match: ReferenceMatch, scope: Scope): string {
  switch (match.match) {
    case 'target': {
      const conditions = [`${x}.target_id = ${scope.bind(match.targetId, 'text')}`];
      if (match.targetType !== undefined) conditions.push(`${x}.target_type = ${scope.bind(match.targetType, 'text')}`);
      return allOf(conditions);
    }
    case 'url':
      return `${x}.reference = ${scope.bind(match.reference, 'text')}`;
    case 'identifier': {
      const conditions = [`${x}.identifier_value = ${scope.bind(match.value, 'text')}`];
      if (match.system !== undefined) conditions.push(`${x}.identifier_system = ${scope.bind(match.system, 'text')}`);
      return allOf(conditions);
    }
  }
}

/**
 * How an indexed range [low, high] (inclusive) relates to the search range [sl, sh) (FHIR R4
 * search, "prefixes" on ranges): eq = contained in it, gt = something after it, ge = gt or eq, …
 */
function dateRangeMatch(low: string, high: string, match: DateRangeMatch, scope: Scope): string {
  // Bound when used: a placeholder that the text never mentions has no type PostgreSQL can infer.
  const sl = () => scope.bind(match.low, 'timestamptz');
  const sh = () => scope.bind(match.high, 'timestamptz');
  switch (match.comparator) {
    case 'eq': return `(${low} >= ${sl()} AND ${high} < ${sh()})`;
    case 'ne': return `(${low} < ${sl()} OR ${high} >= ${sh()})`;
    case 'gt': return `${high} >= ${sh()}`;
    case 'lt': return `${low} < ${sl()}`;
    case 'ge': return `(${high} >= ${sh()} OR ${low} >= ${sl()})`;
    case 'le': return `(${low} < ${sl()} OR ${high} < ${sh()})`;
    case 'sa': return `${low} >= ${sh()}`;
    case 'eb': return `${high} < ${sl()}`;
    case 'ap': return `(${low} < ${sh()} AND ${high} >= ${sl()})`;
  }
}

/** Columns of an indexed number: its value and, where stored, the range its precision implies. */
interface NumberColumns { value: string; low?: string; high?: string }

/**
 * eq/ne/ap test the value against the search range [low, high); gt/lt/ge/le compare it with the
 * search value itself; sa/eb need the indexed range to start after / end before the search range
 * (FHIR R4 search, prefixes), which without a stored range is the value itself.
 */
function numberMatch(columns: NumberColumns, match: NumberMatch, scope: Scope): string {
  const bound = (value: string) => scope.bind(value, 'numeric');
  const column = columns.value;
  switch (match.comparator) {
    case 'eq':
    case 'ap':
      return `(${column} >= ${bound(match.low)} AND ${column} < ${bound(match.high)})`;
    case 'ne': return `(${column} < ${bound(match.low)} OR ${column} >= ${bound(match.high)})`;
    case 'gt': return `${column} > ${bound(match.value)}`;
    case 'lt': return `${column} < ${bound(match.value)}`;
    case 'sa': return `${columns.low ?? column} >= ${bound(match.high)}`;
    case 'eb': return columns.high ? `${columns.high} <= ${bound(match.low)}` : `${column} < ${bound(match.low)}`;
    case 'ge': return `${column} >= ${bound(match.value)}`;
    case 'le': return `${column} <= ${bound(match.value)}`;
  }
}

/** In canonical units where both sides have them, else as written (see QuantityMatch). */
function quantityMatch(x: string, match: QuantityMatch, scope: Scope): string {
  const written = quantityAsWritten(x, match, scope);
  if (!match.canonical) return written;
  const canonical = numberMatch({ value: `${x}.canonical_value` }, { ...match, ...match.canonical }, scope);
  return `((${x}.canonical_code = ${scope.bind(match.canonical.code, 'text')} AND ${canonical}) OR (${x}.canonical_code IS NULL AND ${written}))`;
}

function quantityAsWritten(x: string, match: QuantityMatch, scope: Scope): string {
  const unit: string[] = [];
  if (match.system !== undefined) unit.push(`${x}.system = ${scope.bind(match.system, 'text')}`);
  if (match.code !== undefined) {
    // Without a system the search code may be a UCUM code or the unit as displayed.
    const code = scope.bind(match.code, 'text');
    unit.push(match.system === undefined ? `(${x}.code = ${code} OR ${x}.unit = ${code})` : `${x}.code = ${code}`);
  }
  return allOf([...unit, numberMatch({ value: `${x}.value`, low: `${x}.low`, high: `${x}.high` }, match, scope)]);
}

// ---------------------------------------------------------------------------------------------
// Sort and keyset pagination

interface SortKey {
  /** The expression ordered on. */
  expr: string;
  /** Its type, which the cursor's text is cast back to when resuming. */
  type: SqlType;
  /** search_sort values may be missing; resource columns never are. */
  nullable: boolean;
  direction: SortDirection;
  /** 'id' marks the tie-breaker: the page's rows are joined back by it. */
  by?: 'id';
  join?: string;
  /** A parameter key's bound parameter name. */
  param?: string;
}

/** search_sort keeps the lowest value of a resource for ascending order and the highest for descending. */
const SORT_COLUMNS = {
  text: { asc: 'asc_text', desc: 'desc_text' },
  number: { asc: 'asc_number', desc: 'desc_number' },
  date: { asc: 'asc_date', desc: 'desc_date' },
} as const;

/** The keys of `sort`, then the resource id as the tie-breaker that makes the order total. */
function sortKeys(sort: SortSpec[], scope: Scope): SortKey[] {
  if (sort.length === 0) throw new RangeError('a search needs at least one sort key');
  const keys = sort.map((spec) => sortKey(spec, scope));
  if (!sort.some((spec) => spec.by === 'id')) keys.push(idKey(sort[sort.length - 1].direction));
  return keys;
}

function sortKey(spec: SortSpec, scope: Scope): SortKey {
  switch (spec.by) {
    case 'lastUpdated':
      return { expr: 'r.last_updated', type: sortKeyType(spec), nullable: false, direction: spec.direction };
    case 'created':
      return { expr: 'r.created_at', type: sortKeyType(spec), nullable: false, direction: spec.direction };
    case 'id':
      return idKey(spec.direction);
    case 'param':
      return paramSortKey(spec.param, spec.valueType, spec.direction, scope);
  }
}

/** The SQL type of a sort key's values: the cursor keeps them in its text form (src/store/search.ts). */
export function sortKeyType(spec: SortSpec): SqlType {
  switch (spec.by) {
    case 'lastUpdated':
    case 'created':
      return 'timestamptz';
    case 'id':
      return 'text';
    case 'param':
      return PARAM_SORT_TYPES[spec.valueType];
  }
}

const PARAM_SORT_TYPES: Record<SortValueType, SqlType> = { date: 'timestamptz', number: 'numeric', text: 'text' };

function idKey(direction: SortDirection): SortKey {
  return { expr: 'r.id', type: 'text', nullable: false, direction, by: 'id' };
}

function paramSortKey(param: string, valueType: keyof typeof SORT_COLUMNS, direction: SortDirection, scope: Scope): SortKey {
  const column = SORT_COLUMNS[valueType]?.[direction];
  if (!column) throw new RangeError('unknown sort value type or direction');
  const s = scope.alias('s');
  const bound = scope.bind(param, 'text');
  const join =
    `LEFT JOIN search_sort ${s} ON ${s}.partition_id = ${scope.partition} AND ${s}.resource_type = ${scope.resourceType}` +
    ` AND ${s}.resource_id = r.id AND ${s}.param = ${bound}`;
  return { expr: `${s}.${column}`, type: PARAM_SORT_TYPES[valueType], nullable: true, direction, join, param: bound };
}

function orderByTerm(key: SortKey): string {
  // Only nullable keys say NULLS LAST: on the NOT NULL resource columns it would stop the planner
  // from using their (DESC NULLS FIRST) indexes.
  return `${key.expr} ${key.direction === 'asc' ? 'ASC' : 'DESC'}${key.nullable ? ' NULLS LAST' : ''}`;
}

/** The cursor's value for each key: one per sort spec, then the id for the appended tie-breaker. */
function cursorValues(sort: SortSpec[], after: CursorPosition): Array<string | null> {
  if (after.values.length !== sort.length) throw new RangeError('cursor position does not match the sort');
  return sort.some((spec) => spec.by === 'id') ? after.values : [...after.values, after.id];
}

/** The condition that resumes a page after the query's cursor (none on a first page), on `keys`. */
function resumeAfter(query: SearchQuery, keys: SortKey[], scope: Scope): string[] {
  return query.after ? [keysetCondition(keys, cursorValues(query.sort, query.after), scope)] : [];
}

/** Rows strictly after the cursor in the ORDER BY order. */
function keysetCondition(keys: SortKey[], values: Array<string | null>, scope: Scope): string {
  const sameDirection = keys.every((key) => key.direction === keys[0].direction);
  if (sameDirection && keys.every((key) => !key.nullable)) {
    // A row comparison matches the (key, id) indexes directly.
    const bound = keys.map((key, i) => scope.bind(values[i], key.type));
    const operator = keys[0].direction === 'asc' ? '>' : '<';
    return `(${keys.map((key) => key.expr).join(', ')}) ${operator} (${bound.join(', ')})`;
  }
  return lexicographicAfter(keys, values, scope);
}

/** k0 after v0, or k0 = v0 and (k1 after v1, or …): for mixed directions and missing values. */
function lexicographicAfter(keys: SortKey[], values: Array<string | null>, scope: Scope): string {
  const [key, ...rest] = keys;
  const value = values[0] === null ? null : scope.bind(values[0], key.type);
  const after = keyAfter(key, value);
  if (rest.length === 0) return after;
  const tied = value === null ? `${key.expr} IS NULL` : `${key.expr} = ${value}`;
  const tail = lexicographicAfter(rest, values.slice(1), scope);
  return after === 'FALSE' ? `(${tied} AND ${tail})` : `(${after} OR (${tied} AND ${tail}))`;
}

/** Values strictly after the bound `value` for one key; missing values come last in both directions. */
function keyAfter(key: SortKey, value: string | null): string {
  if (value === null) return 'FALSE';
  const comparison = `${key.expr} ${key.direction === 'asc' ? '>' : '<'} ${value}`;
  return key.nullable ? `(${comparison} OR ${key.expr} IS NULL)` : comparison;
}
