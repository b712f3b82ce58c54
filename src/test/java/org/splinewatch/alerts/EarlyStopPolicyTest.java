package org.splinewatch.alerts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EarlyStopPolicyTest {
  private static Alert alert(String rule, boolean firing) {
    return new Alert(rule, "critical", firing, "r", 100, Map.of(), Map.of(), "the embedding collapsed");
  }

  @Test
  void aFiringAlertOfAStopOnRuleStopsInStopMode() {
    EarlyStopPolicy p = EarlyStopPolicy.of("stop", List.of("std_collapse"));
    assertEquals(Optional.of("collapse alert std_collapse: the embedding collapsed"),
        p.stopReason(alert("std_collapse", true)));
  }

  @Test
  void resolvedAlertsAndOtherRulesNeverStop() {
    EarlyStopPolicy p = EarlyStopPolicy.of("stop", List.of("std_collapse"));
    assertTrue(p.stopReason(alert("std_collapse", false)).isEmpty());
    assertTrue(p.stopReason(alert("dim_collapse", true)).isEmpty());
  }

  @Test
  void warnAndAlertmanagerModesOnlyReport() {
    for (String mode : List.of("warn", "alertmanager")) {
      EarlyStopPolicy p = EarlyStopPolicy.of(mode, List.of("std_collapse"));
      assertTrue(p.stopReason(alert("std_collapse", true)).isEmpty(), mode);
    }
    assertTrue(EarlyStopPolicy.NEVER.stopReason(alert("std_collapse", true)).isEmpty());
    assertTrue(EarlyStopPolicy.of(null).stopReason(alert("std_collapse", true)).isEmpty());
  }

  @Test
  void readsTheModeAndRulesOfTheAlertSettings() {
    var config = ConfigFactory.load().withValue("splinewatch.alerts.early-stop", ConfigValueFactory.fromAnyRef("stop"));
    AlertSettings settings = AlertSettings.fromConfig(config);
    EarlyStopPolicy p = EarlyStopPolicy.of(settings);
    for (String rule : settings.stopOn()) {
      assertTrue(p.stopReason(alert(rule, true)).isPresent(), rule);
    }
  }
}
