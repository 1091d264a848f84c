/**
 * Reads multi-document YAML files of qpipe resources (and the ConfigMaps jobs refer to),
 * keeping every document's file and position so errors say where the problem is.
 */
import { LineCounter, parseAllDocuments } from 'yaml';
import type { ConfigMapData } from './cluster/local-cluster.ts';
import { readFileWithin } from './bounded-read.ts';
import { readSize } from './config.ts';
import { InvalidInputError } from './errors.ts';
import { DEFAULT_MAX_MANIFEST_BYTES } from './limits.ts';
import type { QiskitBackend, QiskitBudget, QiskitJob, QiskitSession } from './resources/schema.ts';
import { parseResource } from './resources/validate.ts';
import { isRecord } from './records.ts';

/** A document and where it came from. */
export interface SourcedDocument {
  readonly file: string;
  /** 1-based line where the document starts. */
  readonly line: number;
  readonly value: Record<string, unknown>;
}

/** What a set of manifest files holds, sorted by kind. */
export interface ManifestSet {
  /** Job manifests as written; the validate stage checks them, so a bad one is rejected by name. */
  readonly jobs: SourcedDocument[];
  readonly budgets: QiskitBudget[];
  readonly backends: QiskitBackend[];
  readonly sessions: QiskitSession[];
  readonly configMaps: ConfigMapData[];
  /** Problems that stop a file or document from being used at all. */
  readonly errors: InvalidInputError[];
}

/** Parses YAML text into documents; syntax errors name file:line:column. */
export function parseYamlDocuments(
  text: string,
  file: string,
): { documents: SourcedDocument[]; errors: InvalidInputError[] } {
  const lineCounter = new LineCounter();
  const documents: SourcedDocument[] = [];
  const errors: InvalidInputError[] = [];
  for (const document of parseAllDocuments(text, { lineCounter, prettyErrors: false, logLevel: 'error' })) {
    if (document.errors.length > 0) {
      for (const error of document.errors) {
        const pos = lineCounter.linePos(error.pos[0]);
        errors.push(
          new InvalidInputError(`${file}:${pos.line}:${pos.col}`, `YAML syntax error: ${error.message.split('\n')[0]}`),
        );
      }
      continue;
    }
    const line = lineCounter.linePos(document.range[0]).line;
    let value: unknown;
    try {
      // Aliases are resolved here: an unknown one, or too many (a "billion laughs" file), is refused.
      value = document.toJS({ maxAliasCount: 100 });
    } catch (error) {
      errors.push(new InvalidInputError(`${file}:${line}`, `YAML error: ${(error as Error).message.split('\n')[0]}`));
      continue;
    }
    if (value === null || value === undefined) continue;
    if (!isRecord(value)) {
      errors.push(new InvalidInputError(`${file}:${line}`, 'a manifest must be a mapping with apiVersion and kind'));
      continue;
    }
    documents.push({ file, line, value });
  }
  return { documents, errors };
}

/** QPIPE_MAX_MANIFEST_BYTES, read where manifests are read (the CLI reads them before its configuration). */
function manifestByteLimit(): number {
  return readSize(process.env, 'QPIPE_MAX_MANIFEST_BYTES', DEFAULT_MAX_MANIFEST_BYTES);
}

function configMapOf(document: SourcedDocument): ConfigMapData | InvalidInputError {
  const metadata = isRecord(document.value['metadata']) ? document.value['metadata'] : {};
  const data = document.value['data'];
  if (
    typeof metadata['name'] !== 'string' ||
    !isRecord(data) ||
    !Object.values(data).every((v) => typeof v === 'string')
  ) {
    return new InvalidInputError(
      `${document.file}:${document.line}`,
      'a ConfigMap needs metadata.name and string data',
    );
  }
  return {
    namespace: typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default',
    name: metadata['name'],
    data: data as Record<string, string>,
  };
}

/**
 * Reads manifest files. Unreadable or oversize files and bad non-job documents are reported,
 * not thrown, so the other files' work goes on.
 */
export async function loadManifests(files: readonly string[], maxBytes = manifestByteLimit()): Promise<ManifestSet> {
  const set: ManifestSet = { jobs: [], budgets: [], backends: [], sessions: [], configMaps: [], errors: [] };
  // Where each kind/namespace/name was first defined: a second one would overwrite its status.
  const seen = new Map<string, string>();
  const firstOfName = (document: SourcedDocument) => {
    const metadata = isRecord(document.value['metadata']) ? document.value['metadata'] : {};
    if (typeof metadata['name'] !== 'string') return undefined;
    const namespace = typeof metadata['namespace'] === 'string' ? metadata['namespace'] : 'default';
    const label = `${String(document.value['kind'])} ${namespace}/${metadata['name']}`;
    const where = seen.get(label);
    if (where === undefined) seen.set(label, `${document.file}:${document.line}`);
    return where === undefined ? undefined : { label, where };
  };
  for (const file of files) {
    let text: string;
    try {
      text = await readFileWithin(file, maxBytes, 'QPIPE_MAX_MANIFEST_BYTES');
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      set.errors.push(error);
      continue;
    }
    const { documents, errors } = parseYamlDocuments(text, file);
    for (const error of errors) set.errors.push(error);
    for (const document of documents) {
      const duplicate = firstOfName(document);
      if (duplicate) {
        set.errors.push(
          new InvalidInputError(
            `${document.file}:${document.line}`,
            `${duplicate.label} is already defined at ${duplicate.where}; each document needs its own name`,
          ),
        );
        continue;
      }
      const kind = document.value['kind'];
      const where = `${document.file}:${document.line}`;
      if (kind === 'ConfigMap' && document.value['apiVersion'] === 'v1') {
        const configMap = configMapOf(document);
        if (configMap instanceof InvalidInputError) set.errors.push(configMap);
        else set.configMaps.push(configMap);
        continue;
      }
      if (kind === 'QiskitJob') {
        set.jobs.push(document);
        continue;
      }
      try {
        const resource = parseResource(document.value, `${where} ${typeof kind === 'string' ? kind : 'document'}`);
        if (resource.kind === 'QiskitBudget') set.budgets.push(resource);
        else if (resource.kind === 'QiskitBackend') set.backends.push(resource);
        else if (resource.kind === 'QiskitSession') set.sessions.push(resource);
      } catch (error) {
        if (error instanceof InvalidInputError)
          set.errors.push(new InvalidInputError(where, error.message, { cause: error }));
        else throw error;
      }
    }
  }
  return set;
}

/**
 * A job's circuit source as far as the files tell it: inline code, or a ConfigMap key among
 * the files' ConfigMaps; undefined for a URL or a ConfigMap the files do not hold.
 */
export function circuitCodeInFiles(
  circuit: QiskitJob['spec']['circuit'],
  namespace: string,
  manifests: { readonly configMaps: readonly ManifestSet['configMaps'][number][] },
): string | undefined {
  const ref = circuit.configMapRef;
  if (circuit.source === 'configmap' && ref) {
    const configMap = manifests.configMaps.find((c) => c.namespace === namespace && c.name === ref.name);
    const code = configMap?.data[ref.key];
    // The validate stage's words for the same mistake, so every command says it alike.
    if (configMap && code === undefined) {
      throw new InvalidInputError('spec.circuit.configMapRef', `ConfigMap ${ref.name} has no key "${ref.key}"`);
    }
    return code;
  }
  return circuit.source === 'inline' ? circuit.code : undefined;
}
