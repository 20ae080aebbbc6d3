// The registry of source formats `drgan prepare --format` accepts.
import { drive } from './drive.js';
import { eyepacs } from './eyepacs.js';
import { folder } from './folder.js';
import { idrid } from './idrid.js';
import type { SourceFormat } from './source.js';

export const FORMATS: Record<string, SourceFormat> = { eyepacs, idrid, drive, folder };
export const FORMAT_NAMES = Object.keys(FORMATS);
export type { SourceFormat, SourceListing, SourceSample } from './source.js';
