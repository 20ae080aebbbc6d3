// Evaluation metrics (method.md section 9): `import * as metrics from './eval/index.js'`.
export { NUM_GRADES, accuracy, confusionMatrix, gradingReport, perClassTpr, quadraticWeightedKappa, type GradingReport } from './grading-metrics.js';
export { FeatureStatsAccumulator, featureStats, frechetDistance, perGradeAverage, psdSqrt, type FeatureStats, type PerGradeFid } from './frechet.js';
export { kid, polynomialMmd2, type KidOptions, type KidResult } from './kid.js';
export { SwdDescriptorSet, laplacianPyramid, slicedWasserstein, swd, swdFromDescriptors, swdResolutions, toSwdPixels, type SwdOptions, type SwdResult } from './swd.js';
export { loadFeatureStats, saveFeatureStats, type LoadFeatureStatsOptions } from './feature-stats-io.js';
export { SeededStream } from './seeded.js';
export { fidPerGrade, pairGrades, type GradeFeatureStats, type GradePairing, type PerGradeFidResult } from './per-grade.js';
export { INCEPTION_WEIGHTS_ENV, MissingInceptionWeightsError, STANDARD_INCEPTION_NAME, metricLabel, openFeatureExtractor, type FeatureExtractor, type OpenExtractorOptions } from './feature-extractors.js';
export { IMAGE_EXTENSIONS, groupByGrade, openImageSet, readImageBatches, type ImageBatch, type ImageItem, type ImageSet, type OpenImageSetOptions, type ReadBatchesOptions } from './image-sets.js';
export { ExactScores, ScoreHistogram, makeAccumulator, segmentationMetrics, type ScoreAccumulator, type SegmentationMetrics } from './segmentation-metrics.js';
export { HIGH_PASS_RADIUS, LesionContrastAccumulator, MIN_CHANNEL_PIXELS, boxMean, contrastRatios, greenHighPass, lesionContrast, type ChannelContrastSummary, type ChannelMasks, type ImageLesionContrast, type LesionContrastInput, type LesionContrastSummary } from './lesion-contrast.js';
export { measureEntry, measureLesionContrast, type MeasureLesionContrastOptions, type SetLesionContrast } from './lesion-contrast-set.js';
