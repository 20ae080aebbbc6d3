// What a format reader hands to `prepare`: the samples of a published data set as found on
// disk (absolute paths, not yet read), plus the problems met while listing them, so a CSV
// row without a file is reported like any other bad input instead of stopping the listing.
import type { ConditionChannel } from '../manifest.js';
import type { SourceProblem } from '../errors.js';

export interface SourceSample {
  /** Unique within the listing; used for output file names and the split hash. */
  id: string;
  image: string;
  grade: number | null;
  /** Annotation files per channel. */
  masks: Partial<Record<ConditionChannel, string>>;
  /**
   * Channels the source annotates for this image. A known channel without a file in `masks`
   * is annotated as empty (IDRiD ships no SE file for an image without soft exudates).
   */
  known: ConditionChannel[];
  /** A field-of-view mask shipped with the photo (DRIVE), used instead of the detected circle. */
  fov?: string;
  meta?: Record<string, unknown>;
}

export interface SourceListing {
  samples: SourceSample[];
  problems: SourceProblem[];
  /** Things worth telling the user that are not errors (e.g. photos without a label row). */
  notes: string[];
}

export interface SourceFormat {
  name: string;
  /** One line for --help and docs: the layout it expects under --in. */
  layout: string;
  list(dir: string): Promise<SourceListing>;
}
