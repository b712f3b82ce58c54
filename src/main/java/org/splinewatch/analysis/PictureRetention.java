package org.splinewatch.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.splinewatch.metrics.RetentionSettings;
import org.splinewatch.snapshot.IoErrors;

/**
 * Keeps the partition pictures of a run bounded ({@code splinewatch.retention.planes-keep-last} and
 * {@code planes-keep-every}), and with the same settings its embedding views ({@link #embeddingViews}): of each
 * plane's pictures (each layer's views), numbered 0, 1, 2, … in the order they were written, the newest
 * {@code keep-last} and every {@code keep-every}-th stay; the rest are deleted as newer ones arrive. Files already in
 * the directory when it starts (an analyzer restarted after a failure, a resumed run) are numbered in step order
 * before the new ones: the newest {@code keep-last} of them (at least the newest one), which no earlier writer thinned
 * yet, are thinned as newer files arrive; the older ones, already thinned, are left alone.
 */
final class PictureRetention {
  /** A partition picture; group 1 is its plane. */
  private static final Pattern PICTURE = Pattern.compile("plane-(\\d+)-step-(\\d{1,18})\\.svg");
  /** An embedding view ({@link EmbeddingViews#fileName}); group 1 is its layer. */
  private static final Pattern VIEW = Pattern.compile("([a-z]+)-step-(\\d{1,18})\\.json");

  private record Kept(long index, Path file) {
  }

  private record Found(long step, Path file) {
  }

  private final RetentionSettings settings;
  private final String what;
  private final Map<String, Deque<Kept>> kept = new HashMap<>();
  private final Map<String, Long> written = new HashMap<>();

  /** The partition pictures under {@code planesDir}, per plane. */
  PictureRetention(RetentionSettings settings, Path planesDir) {
    this(settings, planesDir, PICTURE, "partition picture");
  }

  /** The embedding views under {@code viewDir} ({@code runs/<id>/embeddings}), per layer. */
  static PictureRetention embeddingViews(RetentionSettings settings, Path viewDir) {
    return new PictureRetention(settings, viewDir, VIEW, "embedding view");
  }

  private PictureRetention(RetentionSettings settings, Path dir, Pattern name, String what) {
    this.settings = settings;
    this.what = what;
    if (dir == null || !Files.isDirectory(dir)) {
      return;
    }
    Map<String, List<Found>> found = new HashMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(f -> {
        Matcher m = name.matcher(f.getFileName().toString());
        if (m.matches()) {
          found.computeIfAbsent(m.group(1), k -> new ArrayList<>())
              .add(new Found(Long.parseLong(m.group(2)), f));
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + dir + ": " + IoErrors.reason(e), e);
    }
    boolean thinning = settings.planesKeepLast() > 0 || settings.planesKeepEvery() > 0;
    found.forEach((key, files) -> {
      files.sort(Comparator.comparingLong(Found::step));
      written.put(key, (long) files.size());
      if (!thinning) {
        return;
      }
      // the newest keep-last (the newest one at least) are as the last writer left them: not thinned yet
      int window = Math.min(files.size(), Math.max(1, settings.planesKeepLast()));
      Deque<Kept> q = kept.computeIfAbsent(key, k -> new ArrayDeque<>());
      for (int i = files.size() - window; i < files.size(); i++) {
        q.addLast(new Kept(i, files.get(i).file()));
      }
    });
  }

  /** Records a picture just written and deletes those of its plane that fall out of the retention. */
  void written(int plane, Path file) {
    written(String.valueOf(plane), file);
  }

  /** Records a file of {@code key} (a plane, a layer) just written and deletes those of it that fall out. */
  void written(String key, Path file) {
    long index = written.merge(key, 1L, Long::sum) - 1;
    Deque<Kept> q = kept.computeIfAbsent(key, k -> new ArrayDeque<>());
    // a file written again (a run resumed from an earlier checkpoint analyses a step again) is the new one now
    q.removeIf(k -> k.file().equals(file));
    q.addLast(new Kept(index, file));
    // only the picture that just left the newest keep-last can change state; check from the oldest kept ones
    List<Kept> stay = new ArrayList<>(q.size());
    for (Kept k : q) {
      long newer = index - k.index();
      if (settings.keepPicture(k.index(), newer)) {
        stay.add(k);
      } else {
        try {
          Files.deleteIfExists(k.file());
        } catch (IOException e) {
          throw new UncheckedIOException("cannot delete the old " + what + " " + k.file() + ": "
              + e.getMessage(), e);
        }
      }
    }
    q.clear();
    q.addAll(stay);
  }

  /** How many pictures of {@code plane} are kept now. */
  int kept(int plane) {
    return kept(String.valueOf(plane));
  }

  /** How many files of {@code key} are kept now. */
  int kept(String key) {
    Deque<Kept> q = kept.get(key);
    return q == null ? 0 : q.size();
  }
}
