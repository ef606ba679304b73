// A team's own check, loaded with `npm test -- --checks examples/checks`: every container of
// the release runs an image pinned to a version or a digest, never `latest` or no tag, so
// that a rollback brings back exactly what ran before.
import { CheckFailure, defineCheck } from '../../suites/api.js';

const unpinned = (image: string): boolean => {
  if (image.includes('@sha256:')) return false;
  const name = image.slice(image.lastIndexOf('/') + 1);
  return !name.includes(':') || name.endsWith(':latest');
};

export default defineCheck({
  id: 'pinned-images',
  title: 'Every container runs an image pinned to a version or digest',
  group: 'policy',
  criterion: 'Team policy: rollbacks restore exactly the images that ran',
  async run(ctx, rec) {
    const pods = await ctx.shared.releasePods();
    const offending: string[] = [];
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '?';
      for (const container of [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])]) {
        rec.note(`${name}/${container.name}: ${container.image ?? '(none)'}`);
        if (!container.image || unpinned(container.image)) {
          rec.involve(name);
          offending.push(`${name}/${container.name} runs ${container.image ?? 'no image'}`);
        }
      }
    }
    rec.measure('unpinned containers', offending.length, 'containers', 0);
    if (offending.length > 0) throw new CheckFailure(offending.join('; '), 'every image pinned to a tag other than latest, or a digest', offending.join('; '));
    rec.summary = `${pods.length} pods, every image pinned`;
  },
});
