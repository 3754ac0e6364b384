import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

// The dashboard is served by the coordinator at `/`; the CLI looks for dist/index.html.
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 1000,
  },
  server: {
    // `vite dev` forwards the API and the live socket to a coordinator on 127.0.0.1:8080.
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/model': 'http://127.0.0.1:8080',
      '/socket.io': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
