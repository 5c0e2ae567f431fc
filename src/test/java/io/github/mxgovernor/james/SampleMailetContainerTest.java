package io.github.mxgovernor.james;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.ArgumentMatchers.anyString;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.when;

import java.io.File;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import javax.xml.parsers.DocumentBuilderFactory;

import org.apache.james.dnsservice.api.InMemoryDNSService;
import org.apache.james.domainlist.api.DomainList;
import org.apache.james.filesystem.api.FileSystem;
import org.apache.james.metrics.tests.RecordingMetricFactory;
import org.apache.james.queue.api.RawMailQueueItemDecoratorFactory;
import org.apache.james.queue.memory.MemoryMailQueueFactory;
import org.apache.mailet.base.test.FakeMailContext;
import org.apache.mailet.base.test.FakeMailetConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/** The sample operators copy must start the mailet as it stands, with the sample rules it points to. */
class SampleMailetContainerTest {
    private static final Path SAMPLES = Path.of("conf-samples");
    private GovernedRemoteDelivery mailet;

    @AfterEach
    void destroy() {
        if (mailet != null) {
            mailet.destroy();
        }
    }

    @Test
    void sampleMailetShouldStartWithTheSampleRules() throws Exception {
        Element element = governedMailet();
        FakeMailetConfig.Builder config = FakeMailetConfig.builder()
            .mailetName(element.getAttribute("class"))
            .mailetContext(FakeMailContext.defaultContext());
        for (Element parameter : children(element)) {
            config.setProperty(parameter.getTagName(), parameter.getTextContent().trim());
        }
        FileSystem fileSystem = mock(FileSystem.class);
        when(fileSystem.getFile(anyString())).thenAnswer(invocation -> new File(SAMPLES.toFile(),
            invocation.getArgument(0, String.class).replace("file://conf/", "")));
        DomainList domainList = mock(DomainList.class);
        when(domainList.getDefaultDomain()).thenReturn(org.apache.james.core.Domain.of("james.local"));

        mailet = new GovernedRemoteDelivery(new InMemoryDNSService(), domainList,
            new MemoryMailQueueFactory(new RawMailQueueItemDecoratorFactory()), fileSystem,
            new RecordingMetricFactory());
        mailet.init(config.build());

        assertThat(mailet.engine().rules().source()).hasValueSatisfying(source ->
            assertThat(source).endsWith("mx-rules.xml"));
        assertThat(mailet.requiredProcessingState()).extracting(state -> state.getValue()).containsExactly("bounces");
    }

    @Test
    void everyProcessorTheSampleSendsMailToShouldExist() throws Exception {
        Document document = sample();
        List<String> states = new ArrayList<>();
        NodeList processors = document.getElementsByTagName("processor");
        for (int i = 0; i < processors.getLength(); i++) {
            Element processor = (Element) processors.item(i);
            if (processor.hasAttribute("state")) {
                states.add(processor.getAttribute("state"));
            }
        }
        assertThat(states).contains("root", "error", "transport", "relay", "bounces");
        for (int i = 0; i < processors.getLength(); i++) {
            Element processor = (Element) processors.item(i);
            if (!processor.hasAttribute("state")) {
                assertThat(states).contains(processor.getTextContent().trim());
            }
        }
        assertThat(states).contains(governedMailet().getElementsByTagName("bounceProcessor").item(0)
            .getTextContent().trim());
    }

    private static Element governedMailet() throws Exception {
        NodeList mailets = sample().getElementsByTagName("mailet");
        for (int i = 0; i < mailets.getLength(); i++) {
            Element mailet = (Element) mailets.item(i);
            if (mailet.getAttribute("class").equals(GovernedRemoteDelivery.class.getName())) {
                return mailet;
            }
        }
        throw new AssertionError("conf-samples/mailetcontainer.xml has no " + GovernedRemoteDelivery.class.getName());
    }

    private static Document sample() throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(SAMPLES.resolve("mailetcontainer.xml").toFile());
    }

    private static List<Element> children(Element parent) {
        List<Element> elements = new ArrayList<>();
        NodeList nodes = parent.getChildNodes();
        for (int i = 0; i < nodes.getLength(); i++) {
            if (nodes.item(i).getNodeType() == Node.ELEMENT_NODE) {
                elements.add((Element) nodes.item(i));
            }
        }
        return elements;
    }
}
