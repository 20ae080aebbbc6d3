// The DR-GAN networks and losses (method.md sections 2-8): `import * as gan from './gan/index.js'`.
export * from './config.js';
export { MappingNetwork } from './mapping.js';
export { AdaIN, ADAIN_EPS } from './adain.js';
export { AGMBlock } from './agm.js';
export { SpatialAttention, ChannelAttention, SCA, type SpatialAttentionOptions, type SCAOptions } from './attention.js';
export {
  Generator, GlobalGenerator, LocalEnhancer, SynthesisBlock, ResidualBlock, makeNorm, downsample, selectConditionChannels,
  type GeneratorOutput, type GlobalOutput,
} from './generator.js';
export { MultiscaleDiscriminator, PatchDiscriminator, type DiscriminatorOutput } from './discriminator.js';
export {
  discriminatorAdversarialLoss, generatorAdversarialLoss, featureMatchingLoss, PerceptualLoss, classificationLoss,
  generatorLoss, discriminatorLoss, type LossTerms, type GeneratorLossInputs, type DiscriminatorLossInputs,
} from './losses.js';
export { VGG19Features, VGG19_TAPS, loadVgg19, perceptualExtractor, type FeatureExtractor, type PerceptualExtractorOptions } from './vgg19.js';
