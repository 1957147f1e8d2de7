/** Bins values into buckets with readable labels, for distributions (response times...). */
export function histogram(
  values: number[],
  edges: number[],
  label: (low: number, high: number | null) => string,
): { bucket: string; count: number }[] {
  const counts = new Array<number>(edges.length).fill(0);
  for (const value of values) {
    let index = edges.length - 1;
    for (let i = 0; i < edges.length - 1; i += 1) {
      if (value < edges[i + 1]!) {
        index = i;
        break;
      }
    }
    counts[index]! += 1;
  }
  return edges.map((low, i) => ({ bucket: label(low, edges[i + 1] ?? null), count: counts[i]! }));
}
