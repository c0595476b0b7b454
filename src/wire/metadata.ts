// The mitter.io wire shape of entity metadata: `{key, value: {"@type", …}}` with the value in its
// typed form (`text` for strings, `number` for numbers, `boolean` for booleans).
import { Type } from 'typebox';
import type { MetadataValue } from '../modules/metadata/rules.ts';

export const MetadataEntrySchema = Type.Object(
  {
    key: Type.String(),
    value: Type.Object(
      { '@type': Type.String({ description: 'string | numeric | boolean' }) },
      { additionalProperties: true, description: '{"@type":"string","text"}, {"@type":"numeric","number"} or {"@type":"boolean","boolean"}' },
    ),
  },
  { $id: 'MetadataEntry', title: 'MetadataEntry' },
);

export const METADATA_WIRE_SCHEMAS = [MetadataEntrySchema];

export type WireMetadataValue = { '@type': string } & Record<string, unknown>;

export function toWireMetadataValue(value: MetadataValue): WireMetadataValue {
  if (value.type === 'numeric') return { '@type': 'numeric', number: Number(value.text) };
  if (value.type === 'boolean') return { '@type': 'boolean', boolean: value.text === 'true' };
  return { '@type': 'string', text: value.text };
}

export function toWireMetadata(entry: { key: string; value: MetadataValue }): { key: string; value: WireMetadataValue } {
  return { key: entry.key, value: toWireMetadataValue(entry.value) };
}
