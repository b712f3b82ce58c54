package org.splinewatch.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.cbor.databind.CBORMapper;
import com.typesafe.config.Config;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.pekko.actor.typed.ActorSystem;
import org.apache.pekko.actor.typed.javadsl.Behaviors;
import org.apache.pekko.serialization.Serialization;
import org.apache.pekko.serialization.SerializationExtension;
import org.apache.pekko.serialization.Serializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link MetricsNode.Registered} across releases, through the serializer the cluster binds it to (reference.conf's
 * {@code serialization-bindings}: jackson-cbor): it gained {@code monitorStopping}, so a monitor of the previous
 * release answers without it and a trainer of that release gets a field it does not know. Both must still read.
 */
class RegisteredWireTest {
  private static final CBORMapper CBOR = new CBORMapper();
  private static ActorSystem<Void> system;
  private static Serialization serialization;

  @BeforeAll
  static void start() {
    Config c = ClusterRunIT.nodeConfig(Map.of());
    system = ClusterNode.start(Behaviors.empty(), ClusterSettings.fromConfig(c), List.of("trainer"), c);
    serialization = SerializationExtension.get(system);
  }

  @AfterAll
  static void stop() {
    system.terminate();
  }

  /** {@code sent} on the wire, its fields changed by {@code change} (another release's message), read back. */
  private static MetricsNode.Registered across(MetricsNode.Registered sent, Consumer<ObjectNode> change)
      throws Exception {
    Serializer serializer = serialization.findSerializerFor(sent);
    assertTrue(serializer.getClass().getName().contains("JacksonCbor"), serializer.getClass().getName());
    ObjectNode fields = (ObjectNode) CBOR.readTree(serialization.serialize(sent).get());
    assertTrue(fields.has("monitorStopping"), "the field this test removes: " + fields);
    change.accept(fields);
    return (MetricsNode.Registered) serialization.deserialize(CBOR.writeValueAsBytes(fields), serializer.identifier(),
        MetricsNode.Registered.class.getName()).get();
  }

  @Test
  void anAnswerWithoutMonitorStoppingFromThePreviousReleaseReadsAsNotStopping() throws Exception {
    MetricsNode.Registered refused = across(new MetricsNode.Registered("r", null, "http://m:9464/metrics",
        "the monitor refused the run: x", null, true, true), f -> f.remove("monitorStopping"));
    assertEquals(new MetricsNode.Registered("r", null, "http://m:9464/metrics", "the monitor refused the run: x", null,
        true, false), refused);
    MetricsNode.Registered accepted = across(new MetricsNode.Registered("r", null, "", null,
        "0123456789abcdef0123456789abcdef"), f -> f.remove("monitorStopping"));
    assertFalse(accepted.monitorStopping());
    assertEquals("0123456789abcdef0123456789abcdef", accepted.token());
  }

  @Test
  void anAnswerWithAFieldOfALaterReleaseIsReadWithoutIt() throws Exception {
    MetricsNode.Registered sent = new MetricsNode.Registered("r", null, "", "the monitor at h:1 is stopping", null,
        false, true);
    assertEquals(sent, across(sent, f -> {
      f.put("someLaterField", 42);
      f.putObject("someLaterObject").put("x", "y");
    }));
  }
}
