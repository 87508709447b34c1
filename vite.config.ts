import { defineConfig } from 'vite';

// The site is built from web/ with static assets from public/, into dist/,
// with relative paths so it deploys to any static host or sub-path.
export default defineConfig({
  root: 'web',
  base: './',
  publicDir: '../public',
  build: {
    outDir: '../dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
  },
  worker: {
    format: 'es',
  },
  server: {
    fs: { allow: ['..'] },
  },
});
