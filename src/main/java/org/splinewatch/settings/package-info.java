/**
 * Reading settings from a namespaced HOCON block with the checks Typesafe Config does not make: {@link
 * org.splinewatch.settings.ConfigBlock} refuses a fractional value where a whole number is meant (Config's getInt
 * truncates 12.7 to 12), NaN and Infinity where a number is meant, and durations at or below a minimum. Each refusal
 * is one line naming the full key, the value and what is expected. {@link org.splinewatch.settings.ConfigErrors} words
 * Config's own errors that way, and {@link org.splinewatch.settings.PekkoKeys} refuses a config file's misspelt
 * {@code pekko} key; {@link org.splinewatch.settings.EnvOverrides} maps Typesafe Config's {@code CONFIG_FORCE_}
 * environment variables to the keys they set; {@link org.splinewatch.settings.OptionValues} prints a command-line
 * value so that an empty or blank one shows; {@link org.splinewatch.settings.OwnerOnlyFiles} refuses a file of secrets
 * that others than its owner may read (PostgreSQL's rule: a file of root may also be readable by its group for a
 * process of another user). A plain library: no actor or framework imports.
 */
package org.splinewatch.settings;
