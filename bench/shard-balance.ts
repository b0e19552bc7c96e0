// --shard I/N balance over a 10,000-task plan: tasks per shard, spread against the spread a
// uniform random split would have (the baseline), and stability when tasks are added.
import { inShard } from "../dist/run/shard.js";
import { planFromBytes } from "../dist/job/index.js";

const job = (seeds: number): string => `version: 1
name: big
assets:
  a: { type: image, uri: "https://assets.example.com/a.png" }
  b: { type: image, uri: "https://assets.example.com/b.png" }
  r: { type: video, uri: "https://assets.example.com/r.mp4" }
pairs:
  - { id: a-r, character: a, reference: r }
  - { id: b-r, character: b, reference: r }
sweep:
  expressionIntensity: [1, 2, 3, 4, 5]
  seed: { from: 1, to: ${seeds} }
output:
  name: "{pair}/ei{expressionIntensity}-s{seed}.mp4"
`;
const planOf = (seeds: number) =>
  planFromBytes("big.yaml", new TextEncoder().encode(job(seeds)), {
    maxTasks: 100_000,
  }).plan;
const shardOf = (key: string, count: number): number => {
  for (let index = 1; index <= count; index++) if (inShard(key, { index, count })) return index;
  return 0;
};

const plan = planOf(1000);
console.log(`${plan.tasks.length} tasks`);
for (const count of [2, 4, 8, 16]) {
  const sizes = Array.from({ length: count }, () => 0);
  for (const task of plan.tasks) sizes[shardOf(task.key, count) - 1]! += 1;
  const mean = plan.tasks.length / count;
  const sd = Math.sqrt(sizes.reduce((sum, n) => sum + (n - mean) ** 2, 0) / count);
  const expected = Math.sqrt(mean * (1 - 1 / count));
  console.log(
    `N=${String(count).padEnd(2)} per shard ${sizes.join(" ")}  min ${((Math.min(...sizes) / mean - 1) * 100).toFixed(1)}%  ` +
      `max +${((Math.max(...sizes) / mean - 1) * 100).toFixed(1)}%  sd ${sd.toFixed(1)} vs random ${expected.toFixed(1)} (ratio ${(sd / expected).toFixed(2)})`,
  );
}
const bigger = planOf(1100);
const before = new Map(plan.tasks.map((task) => [task.key, shardOf(task.key, 4)]));
const moved = bigger.tasks.filter(
  (task) => before.has(task.key) && before.get(task.key) !== shardOf(task.key, 4),
).length;
console.log(
  `adding ${bigger.tasks.length - plan.tasks.length} tasks moved ${moved} of ${plan.tasks.length} existing tasks to another shard (N=4)`,
);
