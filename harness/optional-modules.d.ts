// Optional backends: installed by users who want them (see README "GPU"), never by `npm ci`.
declare module '@tensorflow/tfjs-node-gpu';
declare module '@tensorflow/tfjs-node';
