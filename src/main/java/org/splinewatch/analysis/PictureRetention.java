package org.splinewatch.analysis;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
 * {@code planes-keep-every}): of each plane's pictures, numbered 0, 1, 2, … in the order they were written, the
 * newest {@code keep-last} and every {@code keep-every}-th stay; the rest are deleted as newer ones arrive. Pictures
 * already in the directory when it starts (an analyzer restarted after a failure) are left alone: which of them were
 * kept as every {@code keep-every}-th is not known; numbering continues after them.
 */
final class PictureRetention {
  private static final Pattern NAME = Pattern.compile("plane-(\\d+)-step-(\\d+)\\.svg");

  private record Kept(long index, Path file) {
  }

  private final RetentionSettings settings;
  private final Map<Integer, Deque<Kept>> kept = new HashMap<>();
  private final Map<Integer, Long> written = new HashMap<>();

  PictureRetention(RetentionSettings settings, Path planesDir) {
    this.settings = settings;
    if (planesDir == null || !Files.isDirectory(planesDir)) {
      return;
    }
    try (Stream<Path> files = Files.list(planesDir)) {
      files.forEach(f -> {
        Matcher m = NAME.matcher(f.getFileName().toString());
        if (m.matches()) {
          written.merge(Integer.parseInt(m.group(1)), 1L, Long::sum);
        }
      });
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list " + planesDir + ": " + IoErrors.reason(e), e);
    }
  }

  /** Records a picture just written and deletes those of its plane that fall out of the retention. */
  void written(int plane, Path file) {
    add(plane, file);
  }

  private void add(int plane, Path file) {
    long index = written.merge(plane, 1L, Long::sum) - 1;
    Deque<Kept> q = kept.computeIfAbsent(plane, k -> new ArrayDeque<>());
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
          throw new UncheckedIOException("cannot delete the old partition picture " + k.file() + ": "
              + e.getMessage(), e);
        }
      }
    }
    q.clear();
    q.addAll(stay);
  }

  /** How many pictures of {@code plane} are kept now. */
  int kept(int plane) {
    Deque<Kept> q = kept.get(plane);
    return q == null ? 0 : q.size();
  }
}
