// One problem with one input file. Every bad input (corrupt image, mask of the wrong size,
// grade out of range, CSV row without a file, photo without a field of view) becomes a
// DataError, so `prepare` can stop on it or log it and skip, and the message always names
// the file first: a user with 80,000 photos needs to know which one to look at.

export class DataError extends Error {
  constructor(
    /** The file at fault (image, mask or CSV), as the user gave it. */
    readonly file: string,
    /** Why, in words, without the file name. */
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'DataError';
  }
}

/** A problem found while listing a source (before any image is read), tied to the sample it sinks. */
export interface SourceProblem {
  id?: string;
  error: DataError;
}
