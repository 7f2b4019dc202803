// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.20;

/// The gnark-exported Groth16 verifier (Verifier.sol). It reverts unless
/// the proof is valid for the two public inputs (digest, validator set).
interface IVerifier {
    function verifyProof(bytes calldata proof, uint256[2] calldata input) external view;
}

/// @title CheckpointAnchor: jinlian checkpoints on Ethereum
/// @notice Accepts checkpoint k of one jinlian chain when it follows
/// checkpoint k-1 (next epoch, later height, prevHash = hash of k-1), is
/// signed by the validator set that k-1 handed over to, and comes with a
/// proof that validators holding more than 2/3 of that set's power signed
/// it. Anyone may submit: the proof is the authorisation.
/// @dev What a checkpoint attests is that >2/3 of the consortium's voting
/// power signed the state root (appHash) at a height; it does not re-execute
/// the chain. See docs/checkpoints.md.
contract CheckpointAnchor {
    /// keccak256 of the domain tag; the first word of every digest.
    bytes32 public constant DOMAIN = keccak256("jinlian/checkpoint/v1");
    /// Digests are keccak-256 with the top three bits cleared, below the
    /// BN254 scalar field's modulus.
    uint256 private constant DIGEST_MASK = (1 << 253) - 1;

    /// Checkpoint k as jinlian defines it; checkpointHash is its SM3 hash,
    /// which checkpoint k+1 carries as prevHash.
    struct Checkpoint {
        uint64 epoch;
        uint64 height;
        bytes32 appHash;
        bytes32 prevHash;
        uint256 validatorSet;
        uint256 nextValidatorSet;
        bytes32 checkpointHash;
    }

    IVerifier public immutable verifier;
    /// keccak256 of the jinlian chain id.
    bytes32 public immutable chainIdHash;

    // latestEpoch, latestHeight and anchoredAtBlock share one storage slot,
    // which the constructor makes non-zero: updating it costs 5k gas, not
    // the 22k of a first write.
    uint64 public latestEpoch;
    uint64 public latestHeight;
    /// Ethereum block of the latest anchoring (or of the deployment).
    uint64 public anchoredAtBlock;
    /// Commitment to the validator set that signs the next checkpoint.
    uint256 public validatorSet;
    /// SM3 checkpoint hash by epoch.
    mapping(uint64 => bytes32) public checkpointHash;
    /// App hash (jinlian's SM3 state root) by epoch.
    mapping(uint64 => bytes32) public appHash;

    event CheckpointAnchored(
        uint64 indexed epoch, uint64 height, bytes32 appHash, bytes32 checkpointHash, uint256 validatorSet
    );
    event ValidatorSetHandedOver(uint64 indexed epoch, uint256 previous, uint256 next);

    error EpochOutOfOrder(uint64 expected, uint64 got);
    error HeightNotIncreasing(uint64 latest, uint64 got);
    error PrevHashMismatch(bytes32 expected, bytes32 got);
    error ValidatorSetMismatch(uint256 expected, uint256 got);

    /// @param trusted the checkpoint the anchor starts from (epoch 0, the
    /// chain's genesis checkpoint, or a later one its deployers trust).
    constructor(IVerifier verifier_, bytes32 chainIdHash_, Checkpoint memory trusted) {
        verifier = verifier_;
        chainIdHash = chainIdHash_;
        latestEpoch = trusted.epoch;
        latestHeight = trusted.height;
        anchoredAtBlock = uint64(block.number);
        validatorSet = trusted.nextValidatorSet;
        checkpointHash[trusted.epoch] = trusted.checkpointHash;
        appHash[trusted.epoch] = trusted.appHash;
        emit CheckpointAnchored(
            trusted.epoch, trusted.height, trusted.appHash, trusted.checkpointHash, trusted.nextValidatorSet
        );
    }

    /// The digest the validators sign and the proof's first public input.
    function digest(Checkpoint calldata cp) public view returns (uint256) {
        return uint256(
            keccak256(
                abi.encode(
                    DOMAIN,
                    chainIdHash,
                    cp.epoch,
                    cp.height,
                    cp.appHash,
                    cp.prevHash,
                    cp.validatorSet,
                    cp.nextValidatorSet,
                    cp.checkpointHash
                )
            )
        ) & DIGEST_MASK;
    }

    /// Anchors checkpoint cp.epoch; reverts unless it follows the latest
    /// anchored checkpoint and the proof verifies.
    function submitCheckpoint(Checkpoint calldata cp, bytes calldata proof) external {
        uint64 epoch = latestEpoch;
        if (cp.epoch != epoch + 1) revert EpochOutOfOrder(epoch + 1, cp.epoch);
        if (cp.height <= latestHeight) revert HeightNotIncreasing(latestHeight, cp.height);
        bytes32 prev = checkpointHash[epoch];
        if (cp.prevHash != prev) revert PrevHashMismatch(prev, cp.prevHash);
        uint256 set = validatorSet;
        if (cp.validatorSet != set) revert ValidatorSetMismatch(set, cp.validatorSet);

        verifier.verifyProof(proof, [digest(cp), set]);

        latestEpoch = cp.epoch;
        latestHeight = cp.height;
        anchoredAtBlock = uint64(block.number);
        checkpointHash[cp.epoch] = cp.checkpointHash;
        appHash[cp.epoch] = cp.appHash;
        if (cp.nextValidatorSet != set) {
            validatorSet = cp.nextValidatorSet;
            emit ValidatorSetHandedOver(cp.epoch, set, cp.nextValidatorSet);
        }
        emit CheckpointAnchored(cp.epoch, cp.height, cp.appHash, cp.checkpointHash, cp.nextValidatorSet);
    }

    /// The latest anchored checkpoint.
    function latest()
        external
        view
        returns (uint64 epoch, uint64 height, bytes32 appHash_, bytes32 checkpointHash_, uint256 validatorSet_)
    {
        epoch = latestEpoch;
        return (epoch, latestHeight, appHash[epoch], checkpointHash[epoch], validatorSet);
    }
}
