package org.splinewatch.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnvOverridesTest {
  @Test
  void namesMapToKeysAsTypesafeConfigMapsThem() {
    assertEquals("splinewatch.run.batch-size", EnvOverrides.key("CONFIG_FORCE_splinewatch_run_batch__size"));
    assertEquals("a.b_c-d", EnvOverrides.key("CONFIG_FORCE_a_b___c__d"));
    assertEquals("CONFIG_FORCE_a_b___c__d", EnvOverrides.variable("a.b_c-d"));
    assertThrows(IllegalArgumentException.class, () -> EnvOverrides.key("CONFIG_FORCE_a____b"));
    assertEquals(Optional.of("CONFIG_FORCE_splinewatch_run_planes"), EnvOverrides.variableOf("splinewatch.run.planes",
        Map.of("CONFIG_FORCE_splinewatch_run_planes", "3", "PATH", "/bin")));
  }

  @Test
  void theMappingIsConfigsOwn() throws Exception {
    // Config's own (package-private) mapping, which ConfigFactory.load() applies
    java.lang.reflect.Method own = Class.forName("com.typesafe.config.impl.ConfigImplUtil")
        .getDeclaredMethod("envVariableAsProperty", String.class, String.class);
    own.setAccessible(true);
    for (String name : new String[] {"CONFIG_FORCE_splinewatch_run_batch__size", "CONFIG_FORCE_a_b___c__d",
        "CONFIG_FORCE_x_", "CONFIG_FORCE__x", "CONFIG_FORCE_splinewatch__analysis__dispatcher_fixed__pool__size"}) {
      assertEquals(own.invoke(null, name, EnvOverrides.PREFIX), EnvOverrides.key(name), name);
    }
  }
}
