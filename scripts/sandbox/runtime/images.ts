// The sandbox's image catalogue (fixtures/sandbox/images.yaml): which host command stands
// in for which image. An image it does not list cannot be pulled.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ImageEntry {
  command: string[];
  /** The image's own environment (Dockerfile ENV); the container's env overrides it. */
  env?: Record<string, string>;
  portEnv?: string;
  /** The image's WORKDIR: relative paths in its command resolve against it. */
  workdir?: string;
  paths?: Record<string, string[]>;
  tags?: string[];
}

export interface Catalogue {
  images: Record<string, ImageEntry>;
}

export interface ImageReference {
  repository: string;
  tag: string;
}

/** `registry/repo:tag@sha256:...` -> repository and tag; a registry prefix is kept. */
export function parseImage(image: string): ImageReference {
  const withoutDigest = image.split('@')[0] ?? image;
  const lastSlash = withoutDigest.lastIndexOf('/');
  const lastColon = withoutDigest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    return { repository: withoutDigest.slice(0, lastColon), tag: withoutDigest.slice(lastColon + 1) };
  }
  return { repository: withoutDigest, tag: 'latest' };
}

export function loadCatalogue(file: string, placeholders: Record<string, string>): Catalogue {
  const raw = parse(readFileSync(file, 'utf8')) as Catalogue;
  const fill = (items: string[]) =>
    items.map((item) => item.replace(/\{(\w+)\}/g, (whole, key: string) => placeholders[key] ?? whole));
  const images: Record<string, ImageEntry> = {};
  for (const [repository, entry] of Object.entries(raw.images ?? {})) {
    images[repository] = {
      ...entry,
      command: fill(entry.command),
      workdir: entry.workdir ? fill([entry.workdir])[0] : undefined,
      paths: entry.paths
        ? Object.fromEntries(Object.entries(entry.paths).map(([path, command]) => [path, fill(command)]))
        : undefined,
    };
  }
  return { images };
}

export type PullResult =
  | { ok: true; entry: ImageEntry; reference: ImageReference }
  | { ok: false; message: string };

/** Docker Hub's spellings of one repository: `docker.io/library/x` and `x` are the same. */
export function normalRepository(repository: string): string {
  return repository.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

/**
 * Find an image the way a pull would: by its repository (Docker Hub's spellings are one),
 * and only with a tag that exists. Another registry's copy of an image is another image:
 * the sandbox has only its own.
 */
export function pullImage(catalogue: Catalogue, image: string): PullResult {
  const reference = parseImage(image);
  const entry = catalogue.images[normalRepository(reference.repository)];
  if (!entry) {
    return { ok: false, message: `Failed to pull image "${image}": repository ${reference.repository} not found in the sandbox's image catalogue` };
  }
  if (entry.tags && !entry.tags.includes(reference.tag)) {
    return { ok: false, message: `Failed to pull image "${image}": manifest for tag ${reference.tag} not found` };
  }
  return { ok: true, entry, reference };
}

/** The host command line for a container: the image's entrypoint, or a mapped `command`. */
export function hostCommandLine(
  entry: ImageEntry,
  command: string[] | undefined,
  args: string[] | undefined,
): string[] | { error: string } {
  if (command && command.length > 0) {
    const [program, ...rest] = command;
    const mapped = entry.paths?.[program!];
    if (!mapped) {
      return { error: `exec: "${program}": not found in the sandbox's stand-in for this image` };
    }
    return [...mapped, ...rest, ...(args ?? [])];
  }
  return [...entry.command, ...(args ?? [])];
}
