// The module layer's public surface (torch.nn): `torch.nn.Conv2d`, `torch.nn.init.kaimingNormal_`.
export { Module, type StateDict, type LoadStateDictOptions, type LoadStateDictResult, type RegisterBufferOptions } from './module.js';
export * as init from './init.js';
export { Conv2d, ConvTranspose2d, type Conv2dOptions, type ConvTranspose2dOptions, type PaddingMode } from './layers/conv.js';
export type { FactoryOptions } from './layers/factory.js';
export { Linear, type LinearOptions } from './layers/linear.js';
export { BatchNorm1d, BatchNorm2d, InstanceNorm2d, GroupNorm, LayerNorm, type NormOptions, type GroupNormOptions, type LayerNormOptions } from './layers/norm.js';
export { ReLU, LeakyReLU, GELU, Tanh, Sigmoid } from './layers/activation.js';
export { Dropout } from './layers/dropout.js';
export { Identity } from './layers/identity.js';
export { Flatten } from './layers/flatten.js';
export { AvgPool2d, MaxPool2d, AdaptiveAvgPool2d, type AvgPool2dOptions, type MaxPool2dOptions } from './layers/pooling.js';
export { Upsample, type UpsampleOptions } from './layers/upsample.js';
export { ReflectionPad2d, ReplicationPad2d, ZeroPad2d, type Padding2d } from './layers/padding.js';
export { Sequential, ModuleList, ModuleDict } from './layers/containers.js';
