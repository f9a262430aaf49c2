// The reference validator's runner: HAPI FHIR's instance validator on base R4 (no profiles beyond the
// core specification), one JVM for many files, machine-readable output. Built and started by
// deploy/local/fhir-validator.sh; read by hub/devtools/reference_validator.py.
//
//   java ReferenceValidator INPUT...                one JSON object per file, one per line, on stdout:
//       {"file": "...", "ms": 12.5, "issues": [{"severity": "error", "id": "...",
//        "location": "Bundle.entry[1].resource/*Encounter/e1*/.status", "message": "..."}]}
//       (location and message as the validator gives them)
//   java ReferenceValidator --bench SECONDS INPUT...
//       a warm-up pass over the files (each once, stopping max(SECONDS, 10) s after the first), then the files
//       round-robin on this one thread for about SECONDS; prints
//       {"bundles": n, "seconds": s, "per_second": x, "files": k, "warmup_bundles": w}
//
// INPUT is a file, a directory (every *.json below it, sorted by path) or @LIST (a text file naming one
// input per line). Every input is checked before the (slow) validator is built: a missing one stops
// the run with exit code 2. A file the validator throws on gets one "fatal" issue with id
// "RUNNER_EXCEPTION" and the run carries on. The validator's own logging goes to stderr, errors only
// (FHIR_VALIDATOR_LOG_LEVEL overrides: trace, debug, info, warn, error, off).

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public final class ReferenceValidator {
    private static final int USAGE = 2;
    private static final double WARM_UP_AT_LEAST_SECONDS = 10;

    private final FhirValidator validator;
    private final ObjectMapper json = new ObjectMapper();

    private ReferenceValidator() {
        FhirContext context = FhirContext.forR4();
        ValidationSupportChain chain = new ValidationSupportChain(
            new DefaultProfileValidationSupport(context),
            new CommonCodeSystemsTerminologyService(context),
            new InMemoryTerminologyServerValidationSupport(context),
            new SnapshotGeneratingValidationSupport(context));
        validator = context.newValidator().registerValidatorModule(new FhirInstanceValidator(chain));
    }

    public static void main(String[] args) throws IOException {
        quietenLogging();
        List<String> rest = new ArrayList<>(List.of(args));
        Double benchSeconds = null;
        if (!rest.isEmpty() && rest.get(0).equals("--bench")) {
            if (rest.size() < 2) {
                usage("--bench needs a number of seconds");
            }
            benchSeconds = parseSeconds(rest.get(1));
            rest = rest.subList(2, rest.size());
        }
        List<Path> files = new ArrayList<>();
        for (String input : rest) {
            collect(input, files);
        }
        if (files.isEmpty()) {
            usage("no input files");
        }
        // Output is UTF-8 whatever the platform's default; results are flushed line by line.
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        ReferenceValidator runner = new ReferenceValidator();
        if (benchSeconds == null) {
            for (Path file : files) {
                out.println(runner.judge(file));
                out.flush();
            }
        } else {
            out.println(runner.bench(files, benchSeconds));
            out.flush();
        }
    }

    // Sends slf4j-simple's output to stderr and keeps only errors, before any logger exists.
    private static void quietenLogging() {
        String level = System.getenv().getOrDefault("FHIR_VALIDATOR_LOG_LEVEL", "error");
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", level);
    }

    private static double parseSeconds(String text) {
        try {
            double seconds = Double.parseDouble(text);
            if (seconds > 0 && seconds < 86400) {
                return seconds;
            }
        } catch (NumberFormatException e) {
            // reported below
        }
        usage("--bench wants seconds between 0 and 86400, got '" + text + "'");
        return 0;
    }

    private static void usage(String problem) {
        System.err.println("ReferenceValidator: " + problem);
        System.err.println("usage: ReferenceValidator [--bench SECONDS] FILE|DIR|@LIST...");
        System.exit(USAGE);
    }

    // Adds the files named by one input (file, directory, @list) to `files`, in a stable order.
    private static void collect(String input, List<Path> files) throws IOException {
        if (input.startsWith("@")) {
            Path list = Path.of(input.substring(1));
            if (!Files.isRegularFile(list)) {
                usage("list file not found: " + list);
            }
            for (String line : Files.readAllLines(list, StandardCharsets.UTF_8)) {
                if (!line.isBlank()) {
                    collect(line.strip(), files);
                }
            }
            return;
        }
        Path path = Path.of(input);
        if (Files.isDirectory(path)) {
            try (Stream<Path> walk = Files.walk(path)) {
                walk.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(".json"))
                    .map(Path::toString)
                    .sorted()
                    .forEach(p -> files.add(Path.of(p)));
            }
        } else if (Files.isRegularFile(path)) {
            files.add(path);
        } else {
            usage("input not found: " + path);
        }
    }

    // One line of output for one file.
    private String judge(Path file) throws IOException {
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("file", file.toString());
        List<Map<String, Object>> issues = new ArrayList<>();
        long started = System.nanoTime();
        try {
            ValidationResult result = validator.validateWithResult(Files.readString(file, StandardCharsets.UTF_8));
            for (SingleValidationMessage message : result.getMessages()) {
                issues.add(issue(
                    message.getSeverity() == null ? "error" : message.getSeverity().getCode(),
                    message.getMessageId(),
                    message.getLocationString(),
                    message.getMessage()));
            }
        } catch (RuntimeException | IOException e) {
            issues.add(issue("fatal", "RUNNER_EXCEPTION", "", e.getClass().getSimpleName() + ": " + e.getMessage()));
        }
        line.put("ms", Math.round((System.nanoTime() - started) / 1e5) / 10.0);
        line.put("issues", issues);
        return json.writeValueAsString(line);
    }

    private static Map<String, Object> issue(String severity, String id, String location, String message) {
        Map<String, Object> issue = new LinkedHashMap<>();
        issue.put("severity", severity);
        issue.put("id", id == null ? "" : id);
        issue.put("location", location == null ? "" : location);
        issue.put("message", message == null ? "" : message);
        return issue;
    }

    // Bundles per second on this thread: texts read beforehand, so only validation is timed.
    private String bench(List<Path> files, double seconds) throws IOException {
        List<String> texts = new ArrayList<>();
        for (Path file : files) {
            texts.add(Files.readString(file, StandardCharsets.UTF_8));
        }
        // The first validation loads the definitions (seconds); the clock of the warm-up starts after it.
        validator.validateWithResult(texts.get(0));
        long warmUpEnd = System.nanoTime() + (long) (Math.max(seconds, WARM_UP_AT_LEAST_SECONDS) * 1e9);
        int warmedUp = 1;
        while (warmedUp < texts.size() && System.nanoTime() < warmUpEnd) {
            validator.validateWithResult(texts.get(warmedUp));
            warmedUp++;
        }
        long started = System.nanoTime();
        long deadline = started + (long) (seconds * 1e9);
        long bundles = 0;
        while (bundles == 0 || System.nanoTime() < deadline) {
            validator.validateWithResult(texts.get((int) (bundles % texts.size())));
            bundles++;
        }
        double elapsed = (System.nanoTime() - started) / 1e9;
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("bundles", bundles);
        line.put("seconds", Math.round(elapsed * 1000) / 1000.0);
        line.put("per_second", bundles / elapsed);
        line.put("files", texts.size());
        line.put("warmup_bundles", warmedUp);
        return json.writeValueAsString(line);
    }
}
